"""Pure core of the compliance workspace: no Django import, deterministic, I/O only where a caller
hands in bytes.

* :mod:`.frameworks` — framework and mapping data files: schema checks and digests.
* :mod:`.coverage` — what counts as sufficient, current evidence for a control; coverage per theme.
* :mod:`.uploads` — upload checks: file names, sizes and types by their magic bytes.
* :mod:`.packet` — the packet format (``tf-compliance-packet/1``): building and verifying signed zips.
"""
