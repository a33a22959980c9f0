"""ZK-TX partner client: keeps the partner's secrets (identity, BLS and session seeds, peppers) on the
partner's side and talks to the exchange's API with the partner's token. No Django import.

* :mod:`.api` — HTTP transport (urllib) and the typed API calls;
* :mod:`.state` — the local state directory (secrets in files of mode 0600);
* :mod:`.partner` — the partner's logic (keys, epochs, holder set, evaluations, queries, verdicts,
  appeals, bundle acceptance);
* :mod:`.audit` — auditor-side verification (epoch + batch of query transcripts) and the
  ``--transcript-verifier`` hook for ``python -m zktx.verify_bundle``;
* ``python -m zktx.client`` — the command line (docs/zktx.md).
"""

from zktx.client.api import ApiError, ExchangeApi, Transport, UrllibTransport
from zktx.client.partner import PartnerClient, load_selectors
from zktx.client.state import LocalState, StateError

__all__ = ["ApiError", "ExchangeApi", "LocalState", "PartnerClient", "StateError", "Transport", "UrllibTransport",
           "load_selectors"]
