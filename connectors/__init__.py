"""The JobSphere connector: HTTP client, retries, drift-safe pagination, models, errors.

``Client(api_key).jobs.scan()`` is what the pipeline uses; ``client.jobs.list()`` and friends
mirror the JobSphere SDK. Webhook signing lives in :mod:`connectors.webhook_signature`.
"""

from connectors.client import DEFAULT_BASE_URL, Client, Jobs, JobScan
from connectors.errors import (
    AuthenticationError,
    BadRequestError,
    FatalError,
    JobSphereError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetriableError,
    RetryExhaustedError,
    ServerError,
    TruncatedResponseError,
    error_for_status,
)
from connectors.models import (
    ApiErrorBody,
    Job,
    Meta,
    Page,
    PageBody,
    PageBodyError,
    RecordKeys,
    RejectedRecord,
    SalaryRange,
    UsableRecords,
    decode_page,
    split_records,
)
from connectors.pagination import ScanReport
from connectors.redaction import RedactingFilter, redact, register_secret
from connectors.retry import RetryPolicy, parse_retry_after

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiErrorBody",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "FatalError",
    "Job",
    "JobScan",
    "JobSphereError",
    "Jobs",
    "Meta",
    "NetworkError",
    "NotFoundError",
    "Page",
    "PageBody",
    "PageBodyError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RecordKeys",
    "RedactingFilter",
    "RejectedRecord",
    "RetriableError",
    "RetryExhaustedError",
    "RetryPolicy",
    "SalaryRange",
    "ScanReport",
    "ServerError",
    "TruncatedResponseError",
    "UsableRecords",
    "decode_page",
    "error_for_status",
    "parse_retry_after",
    "redact",
    "register_secret",
    "split_records",
]
