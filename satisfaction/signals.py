"""Reactions to the floors below. Filled in when the follow-up answers and the complaint
service exist."""
