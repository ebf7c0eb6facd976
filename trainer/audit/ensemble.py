"""The audit's on-the-spot classifier: a soft vote of three scikit-learn models, fixed defaults.

* standardised features into an L2 logistic regression (strong shrinkage, ``C=0.02``: hundreds
  of features against a few hundred clips);
* standardised features into an RBF SVM (scikit-learn's defaults, ``C=1``, ``gamma="scale"``),
  its scores turned into probabilities by sigmoid calibration on stratified inner folds of the
  training part (``CalibratedClassifierCV(..., ensemble=False)``);
* extremely randomised trees (300, scikit-learn's defaults otherwise; no scaling needed).

Their class probabilities are averaged. Nothing is tuned on the data set being audited (the
audit runs on data sets nobody has seen), and every member copes with tiny classes: the SVM
is calibrated on as many inner folds as the smallest class allows, and left out of the vote
when a class has a single training clip.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

N_TREES = 300
MAX_CALIBRATION_FOLDS = 5


class AuditEnsemble:
    """``fit(x, y)`` / ``predict_proba(x)`` / ``classes_``, like a scikit-learn classifier."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.members: list = []
        self.classes_ = np.array([], dtype=int)

    def _build(self, y: np.ndarray) -> list:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import ExtraTreesClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        members = [
            make_pipeline(StandardScaler(), LogisticRegression(C=0.02, max_iter=3000, random_state=self.seed)),
            ExtraTreesClassifier(n_estimators=N_TREES, random_state=self.seed, n_jobs=1),
        ]
        smallest = int(np.bincount(y)[np.unique(y)].min())
        if smallest >= 2:
            folds = StratifiedKFold(min(MAX_CALIBRATION_FOLDS, smallest), shuffle=True, random_state=self.seed)
            members.insert(1, make_pipeline(StandardScaler(), CalibratedClassifierCV(
                SVC(random_state=self.seed), method="sigmoid", cv=folds, ensemble=False)))
        return members

    def fit(self, x: np.ndarray, y: np.ndarray, *, check: Callable[[], None] | None = None) -> AuditEnsemble:
        """Fit every member; ``check`` (raises to cancel) is called before each."""
        y = np.asarray(y, dtype=int)
        self.classes_ = np.unique(y)
        self.members = []
        for member in self._build(y):
            if check is not None:
                check()
            self.members.append(member.fit(x, y))
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Mean of the members' probabilities, columns in ``classes_`` order."""
        return np.mean([member.predict_proba(x) for member in self.members], axis=0)

    @property
    def names(self) -> list[str]:
        return [type(m[-1] if hasattr(m, "steps") else m).__name__ for m in self.members]
