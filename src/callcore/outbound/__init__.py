"""Outbound dialing: the live dialer and its campaigns.

* lists and records: numbers, CSV import, retries, pools, callbacks (docs/outbound-lists.md);
* compliance: the dial gate, do-not-call, consent, calling windows, caps, the audit
  trail, best time to call, collections stages (docs/outbound-compliance.md);
* call progress: outcomes from SIP, human/machine/fax from audio
  (docs/outbound-call-progress.md);
* the dialer: campaigns, pacing on live calls, agentless flows, two-leg calls
  (docs/outbound-dialer.md).
"""

from .audit import AuditEntry, AuditTrail
from .campaign import Campaign, CampaignError
from .compliance import ComplianceConfig, Decision, DialGate
from .dialer import Attempt, Dialer, DialerError, campaign_queue
from .lists import (
    ContactRecord,
    Duplicate,
    ImportReport,
    ListError,
    RowError,
    import_csv,
    import_csv_async,
    import_rows,
)
from .numbers import NumberError, PhoneNumber, normalize
from .records import (
    DEFAULT_RULES,
    ContactPool,
    Disposition,
    PoolStats,
    RecordState,
    RetryPolicy,
    RetryRule,
)

__all__ = [
    "DEFAULT_RULES",
    "Attempt",
    "AuditEntry",
    "AuditTrail",
    "Campaign",
    "CampaignError",
    "ComplianceConfig",
    "ContactPool",
    "ContactRecord",
    "Decision",
    "DialGate",
    "Dialer",
    "DialerError",
    "Disposition",
    "Duplicate",
    "ImportReport",
    "ListError",
    "NumberError",
    "PhoneNumber",
    "PoolStats",
    "RecordState",
    "RetryPolicy",
    "RetryRule",
    "RowError",
    "campaign_queue",
    "import_csv",
    "import_csv_async",
    "import_rows",
    "normalize",
]
