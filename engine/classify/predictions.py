"""A recording's predictions as the File tab shows and exports them: the whole clip's top labels and
every window's probabilities, written as CSV (``start_s,end_s,top_label,top_prob,<label>...``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from engine.textsafe import csv_cell


@dataclass(frozen=True)
class FilePredictions:
    model_name: str
    labels: list[str]
    clip_probs: np.ndarray          # [n_labels], the whole clip
    starts_s: np.ndarray            # [n_windows]
    window_probs: np.ndarray        # [n_windows, n_labels]
    window_s: float
    calibrated: bool = False        # the model was normalised to this recording's speaker
    calibration_note: str = ""      # why it was not, when calibration was asked for

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(self.clip_probs)[::-1][:k]
        return [(self.labels[i], float(self.clip_probs[i])) for i in order]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        labels = [csv_cell(label) for label in self.labels]  # "=cmd()" labels are not formulas
        writer.writerow(["start_s", "end_s", "top_label", "top_prob", *labels])
        for start, probs in zip(self.starts_s, self.window_probs, strict=True):
            best = int(np.argmax(probs))
            writer.writerow([f"{start:.3f}", f"{start + self.window_s:.3f}", labels[best],
                             f"{probs[best]:.4f}", *(f"{p:.4f}" for p in probs)])
        return out.getvalue()
