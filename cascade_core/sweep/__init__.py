"""Threshold sweeps: collection, the outcome table, importing, fronts, references, recommendation, calibration,
summary metrics, saved sweeps and the background job."""

from cascade_core.sweep.analysis import SplitView, SweepResult, SweepSettings, analyse, select_tiers
from cascade_core.sweep.calibration import TierCalibration, calibration_report
from cascade_core.sweep.certify import Certification, LabelsNeeded, certify
from cascade_core.sweep.collect import CollectProgress, CollectResult
from cascade_core.sweep.collect import acollect as acollect_dataset
from cascade_core.sweep.collect import collect as collect_dataset
from cascade_core.sweep.frontier import (
    FrontierPoint,
    answer_tiers,
    evaluate,
    items_worse_than_large,
    per_tier_points,
    shared_threshold_points,
    threshold_grid,
)
from cascade_core.sweep.import_columns import ResultsImportError
from cascade_core.sweep.importer import ImportResult, import_results
from cascade_core.sweep.job import SweepJob
from cascade_core.sweep.outcomes import OutcomeError, OutcomeMatrix, has_confidence, to_matrix, validate_outcomes
from cascade_core.sweep.pareto import pareto_front, points_frame
from cascade_core.sweep.policies import policy_family, route
from cascade_core.sweep.recommend import Interval, Recommendation, recommend, split_masks
from cascade_core.sweep.references import reference_points, versus_reference
from cascade_core.sweep.replay_runs import log_sweep_runs
from cascade_core.sweep.saved import (
    SweepMeta,
    compare_saved,
    list_saved,
    reopen,
    save_result,
    saved_points,
    saved_questions,
)
from cascade_core.sweep.service import (
    Comparison,
    LoadedSweep,
    analyse_loaded,
    compare,
    config_for_tiers,
    current_setting,
    default_name,
    import_split,
    import_sweep,
    live_sweep,
    open_saved,
    point_config,
    resolve_split,
    save_point,
    settings_for,
    start_live,
)
from cascade_core.sweep.summary_metrics import SummaryMetrics, summary_metrics
from cascade_core.sweep.sweep_json import result_to_json

__all__ = [
    "Certification",
    "CollectProgress",
    "CollectResult",
    "Comparison",
    "FrontierPoint",
    "ImportResult",
    "Interval",
    "LabelsNeeded",
    "LoadedSweep",
    "OutcomeError",
    "OutcomeMatrix",
    "Recommendation",
    "ResultsImportError",
    "SplitView",
    "SummaryMetrics",
    "SweepJob",
    "SweepMeta",
    "SweepResult",
    "SweepSettings",
    "TierCalibration",
    "acollect_dataset",
    "analyse",
    "analyse_loaded",
    "answer_tiers",
    "calibration_report",
    "certify",
    "collect_dataset",
    "compare",
    "compare_saved",
    "config_for_tiers",
    "current_setting",
    "default_name",
    "evaluate",
    "has_confidence",
    "import_results",
    "import_split",
    "import_sweep",
    "items_worse_than_large",
    "list_saved",
    "live_sweep",
    "log_sweep_runs",
    "open_saved",
    "pareto_front",
    "per_tier_points",
    "point_config",
    "points_frame",
    "policy_family",
    "recommend",
    "reference_points",
    "reopen",
    "resolve_split",
    "result_to_json",
    "route",
    "save_point",
    "save_result",
    "saved_points",
    "saved_questions",
    "select_tiers",
    "settings_for",
    "shared_threshold_points",
    "split_masks",
    "start_live",
    "summary_metrics",
    "threshold_grid",
    "to_matrix",
    "validate_outcomes",
    "versus_reference",
]
