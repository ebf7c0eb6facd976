"""The Live tab's "wrong answer" panel: W keeps the audio behind the current answer as training data.

The clip (the answered window and the seconds before it) goes into the model's corrections data
set (engine/datasets/corrections.py) labelled with the right class chosen here, or as
"background" (none of the classes); the wizard opens that data set to retrain in one step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.datasets.corrections import BACKGROUND, CONTEXT_S, add_correction, corrections_folder, new_session
from engine.errors import EarmarkError

KEY = "W"


class WrongAnswerPanel(QGroupBox):
    """``take`` returns ``(samples, rate_hz, window_s, answered label, model path)`` of the current
    answer (samples: the window with up to CONTEXT_S before it), or None when there is none."""

    marked = Signal(object)          # engine.datasets.corrections.Correction
    failed = Signal(str)

    def __init__(self, take: Callable[[float], tuple | None], shortcut_parent: QWidget, parent=None) -> None:
        super().__init__("Wrong answer? Right label:", parent)
        self.take = take
        self.session = new_session()
        self.right_combo = QComboBox()
        self.right_combo.setToolTip("The right class, if you know it; otherwise the clip is kept as "
                                    f"'{BACKGROUND}' (none of the classes)")
        self.mark_button = QPushButton(f"Wrong ({KEY})")
        self.mark_button.setToolTip("Keep the audio behind the answer shown as a clip of the right label "
                                    "(the training wizard's Corrections menu opens them as a data set)")
        self.mark_button.clicked.connect(self.mark)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.hide()          # shown once something was kept: the column must fit 768 px
        row = QHBoxLayout()               # one row: the Live tab's left column fits a laptop screen
        row.addWidget(self.right_combo, 1)
        row.addWidget(self.mark_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.result_label)
        self.shortcut = QShortcut(QKeySequence(KEY), shortcut_parent)
        self.shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        self.shortcut.activated.connect(self.mark)
        self.set_labels([])

    def _say(self, text: str) -> None:
        self.result_label.setText(text)
        self.result_label.show()

    def set_labels(self, labels: list[str]) -> None:
        self.right_combo.clear()
        self.right_combo.addItem(f"none of these ({BACKGROUND})", None)
        for label in labels:
            self.right_combo.addItem(label, label)

    def mark(self):
        """Keep the current answer's audio as a correction; returns it (None when there is no answer)."""
        taken = self.take(CONTEXT_S)
        if taken is None:
            self._say("Nothing to mark: no answer yet")
            return None
        samples, rate_hz, window_s, answered, model_path = taken
        folder = corrections_folder(model_path)
        try:
            correction = add_correction(folder, samples, rate_hz, window_s=window_s, answered=answered,
                                        right=self.right_combo.currentData(), session=self.session,
                                        model=str(model_path))
        except (EarmarkError, OSError) as exc:
            self.failed.emit(f"The wrong answer was not kept: {exc}")
            return None
        self._say(f"Kept as '{correction.label}' (the model said '{answered}')")
        self.result_label.setToolTip(f"In {folder}; the training wizard's Corrections menu opens it as a data set")
        self.marked.emit(correction)
        return correction
