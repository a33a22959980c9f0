"""Pure core of PCQ (proof-carrying queries): no Django, deterministic, no I/O outside a data directory.

Modules:

* :mod:`.dataset` — canonical ``pcq-graph/1`` datasets, 64 KiB chunks, RFC 6962 Merkle digests,
  verified storage.
* :mod:`.results` — result documents (RFC 8785 canonical JSON), output digests, storage.
* :mod:`.jobs` — the job kinds (pagerank, betweenness, shortest_paths, k_shortest_paths, louvain,
  components) over graphs built in canonical order; engine versions.
* :mod:`.manifest` — manifest v1: JSON Schema (``schema/manifest-v1.json``), semantic validation with
  JSON paths, manifest digest, construction.
* :mod:`.compare` — tolerance windows, NMI, partition comparison, verdicts with diff reports.
* :mod:`.replay` — execute/record a job, replay a manifest, verify (replay + compare).
* :mod:`.sampler` — hash sampler and the stratified, AIMD-throttled coverage controller.
* :mod:`.canary` — Diffy-style canary judging with learned noise bands and severities; the
  persistent per-field noise calibrator.
* :mod:`.variants` — engine configurations (prod, prod2, canaries) and planted regressions.
* :mod:`.drill` — labeled canary scenarios (benign noise and true regressions) from seeds.
* :mod:`.workload` — seeded synthetic graphs and job streams.
* :mod:`.errors` — exceptions with stable codes.
"""

from .canary import DEFAULT_METRIC_WEIGHTS, CanaryCase, CanaryConfig, CanaryReport, NoiseCalibrator, judge
from .compare import Verdict, compare, nmi, partition_diff, within_tolerance
from .dataset import CHUNK_SIZE, DatasetInfo, GraphDataset, load_dataset, store_dataset
from .errors import (
    DatasetCorruptError,
    DatasetFormatError,
    DatasetNotFoundError,
    JobError,
    ManifestError,
    PcqError,
    ResultCorruptError,
    ResultNotFoundError,
    UnknownJobKindError,
)
from .jobs import (
    ENGINE_NAME,
    ENGINE_VERSION,
    KINDS,
    default_tolerance,
    engine_info,
    normalize_parameters,
    run_job,
)
from .manifest import build_manifest, check_manifest, manifest_digest, manifest_schema, validate_manifest
from .replay import execute, record, replay, verify
from .results import Result, load_result, store_result
from .sampler import Decision, SamplerConfig, StratifiedSampler, decide
from .variants import REGRESSIONS, EngineProfile, prod2_profile, prod_profile, run_profile
from .workload import JobSpec, WorkloadConfig, generate_graph, job_stream

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_METRIC_WEIGHTS",
    "ENGINE_NAME",
    "ENGINE_VERSION",
    "KINDS",
    "REGRESSIONS",
    "CanaryCase",
    "CanaryConfig",
    "CanaryReport",
    "DatasetCorruptError",
    "DatasetFormatError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "Decision",
    "EngineProfile",
    "GraphDataset",
    "JobError",
    "JobSpec",
    "ManifestError",
    "NoiseCalibrator",
    "PcqError",
    "Result",
    "ResultCorruptError",
    "ResultNotFoundError",
    "SamplerConfig",
    "StratifiedSampler",
    "UnknownJobKindError",
    "Verdict",
    "WorkloadConfig",
    "build_manifest",
    "check_manifest",
    "compare",
    "decide",
    "default_tolerance",
    "engine_info",
    "execute",
    "generate_graph",
    "job_stream",
    "judge",
    "load_dataset",
    "load_result",
    "manifest_digest",
    "manifest_schema",
    "nmi",
    "normalize_parameters",
    "partition_diff",
    "prod2_profile",
    "prod_profile",
    "record",
    "replay",
    "run_job",
    "run_profile",
    "store_dataset",
    "store_result",
    "validate_manifest",
    "verify",
    "within_tolerance",
]
