"""The id of the request (or task) being served, carried into every log line."""

import contextvars
import logging

_request_id = contextvars.ContextVar("request_id", default="-")


def current_request_id():
    return _request_id.get()


def set_request_id(value):
    _request_id.set(value)


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _request_id.get()
        return True
