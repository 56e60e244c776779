"""Privacy models over quasi-identifiers: k-anonymity, ℓ-diversity, t-closeness, risk.

``optimal_generalization`` finds the full-domain generalisation of lowest loss; ``mondrian``
partitions records for utility; ``risk_report`` measures a table as it is. All three read their
input through one streaming aggregation, so the data never has to fit in memory.
"""

from anonymizer_ml.privacy.criteria import LDiversity, TCloseness
from anonymizer_ml.privacy.hierarchy import (
    DateHierarchy,
    Hierarchy,
    IntervalHierarchy,
    OrderedGroupHierarchy,
    PrefixHierarchy,
    TableHierarchy,
)
from anonymizer_ml.privacy.mondrian import MondrianResult, mondrian
from anonymizer_ml.privacy.risk import RiskReport, risk_report
from anonymizer_ml.privacy.search import GeneralizationResult, optimal_generalization

__all__ = [
    "DateHierarchy",
    "GeneralizationResult",
    "Hierarchy",
    "IntervalHierarchy",
    "LDiversity",
    "MondrianResult",
    "OrderedGroupHierarchy",
    "PrefixHierarchy",
    "RiskReport",
    "TCloseness",
    "TableHierarchy",
    "mondrian",
    "optimal_generalization",
    "risk_report",
]
