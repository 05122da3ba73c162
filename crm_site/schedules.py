"""The jobs beat runs, as data: each job is a django_celery_beat PeriodicTask row, seeded
once by a data migration (crm_site 0004) from DEFAULT_JOBS below and from then on the
group administrator's to change on the schedules page. Nothing rewrites the rows when beat
starts (CELERY_BEAT_SCHEDULE is empty), so an edited time stays."""

# name: (task, {"every": seconds} or {"crontab": (minute, hour, day_of_month)}), in the
# time zone of the site (Asia/Shanghai).
DEFAULT_JOBS = {
    "send-due-messages": ("crm_site.tasks.messages_send_due", {"every": 60}),
    "send-due-robot-posts": ("crm_site.tasks.robot_posts_send_due", {"every": 60}),
    # Delivery receipts and replies asked of the provider where callbacks are not set up
    # (SMS_POLL); does nothing otherwise.
    "poll-messages": ("crm_site.tasks.messages_poll", {"crontab": ("*/5", "*", "*")}),
    "requeue-stuck-messages": ("crm_site.tasks.messages_requeue_stuck", {"crontab": ("*/5", "*", "*")}),
    # Month close: weak mystery-shopper items of last month, early on the 1st.
    "satisfaction-month-close": ("satisfaction.tasks.month_close", {"crontab": ("30", "2", "1")}),
    # Dissatisfied survey answers whose complaint was not opened at once.
    "satisfaction-survey-complaints": ("satisfaction.tasks.survey_complaints_sweep",
                                       {"crontab": ("*/10", "*", "*")}),
    # The monthly summary behind the dashboards (current and previous month).
    "satisfaction-figures-refresh": ("satisfaction.tasks.figures_refresh",
                                     {"crontab": ("*/15", "*", "*")}),
    # Staff birthday and holiday greetings, queued early (sent inside the SMS window).
    "satisfaction-staff-greetings": ("satisfaction.tasks.staff_greetings",
                                     {"crontab": ("10", "7", "*")}),
    # The stored customer analysis ("who our customers are"), early every morning.
    "satisfaction-customer-analysis-refresh": ("satisfaction.tasks.customer_analysis_refresh",
                                               {"crontab": ("40", "3", "*")}),
    # Hourly, idempotent: a store's rounds appear early in its day, a missed run is caught up.
    "inspections-schedule-rounds": ("inspections.tasks.rounds_schedule", {"crontab": ("5", "*", "*")}),
    "inspections-mark-overdue": ("inspections.tasks.rectifications_mark_overdue", {"every": 60}),
    "complaints-sla-sweep": ("complaints.tasks.complaints_sweep", {"every": 60}),
    # From 1 October, the group admin is told daily while next year's calendar is missing.
    "calendar-year-check": ("crm_site.tasks.calendar_year_check", {"crontab": ("0", "8", "*")}),
    "plan-reminders": ("followups.tasks.plan_reminders", {"crontab": ("0", "1", "*")}),
    # A night the planner did not finish reaches the managers before the desk opens.
    "planner-night-check": ("followups.tasks.planner_night_check", {"crontab": ("30", "6", "*")}),
}
