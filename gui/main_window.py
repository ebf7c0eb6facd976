"""The main window: Live, File and Audit tabs, the models panel, menus and the status bar."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from engine.catalog import ModelCatalog
from engine.model import bundled_model_dir, user_model_dir
from gui.about import show_about
from gui.file_view import FileView
from gui.live_view import LiveView
from gui.models_panel import ModelsPanel
from gui.settings import Settings

log = logging.getLogger(__name__)
STATUS_MS = 8000


def default_catalog(settings: Settings) -> ModelCatalog:
    user = settings.get("models/user_folder") or str(user_model_dir())
    return ModelCatalog([("shipped", bundled_model_dir()), ("user", user)])


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, settings: Settings | None = None, catalog: ModelCatalog | None = None,
                 *, use_audio_device: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("Earmark")
        self.settings = settings or Settings()
        self._use_audio_device = use_audio_device
        self.wizard = None
        self.catalog = catalog or default_catalog(self.settings)
        self.catalog.subscribe("current", self._on_catalog_current)
        self.live_view = LiveView(self.catalog, self.settings)
        self.file_view = FileView(self.catalog, self.settings, use_audio_device=use_audio_device)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live_view, "Live")
        self.tabs.addTab(self.file_view, "File")
        self.audit_view = self._make_audit_view()
        self.setCentralWidget(self.tabs)
        self.models_panel = ModelsPanel(self.catalog)
        dock = QDockWidget("Models", self)
        dock.setObjectName("models_dock")
        dock.setWidget(self.models_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.models_dock = dock
        self.resizeDocks([dock], [280], Qt.Orientation.Horizontal)
        self.model_status = QLabel()
        self.statusBar().addPermanentWidget(self.model_status)
        for source in (self.live_view, self.file_view, self.models_panel):
            source.status_message.connect(self.show_status)
        self._build_menus()
        self._restore()
        # The saved choice is read before anything is selected (and saved); models are vetted
        # in the background and the saved one becomes current once it proves usable.
        self.catalog.refresh(prefer=self.settings.get("models/current") or None)

    def _make_audit_view(self) -> QWidget | None:
        try:
            from gui.audit_view import AuditView
        except ImportError:
            return None
        try:
            try:
                view = AuditView(use_audio_device=self._use_audio_device)
            except TypeError:
                view = AuditView()
        except Exception:  # noqa: BLE001 - the app opens without the Audit tab rather than not at all
            log.exception("the Audit tab could not be created")
            return None
        self.tabs.addTab(view, "Audit")
        return view

    # ---- menus -------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action(file_menu, "&Open audio…", self._on_open, QKeySequence.StandardKey.Open,
                                        "Open an audio file in the File tab")
        self.export_action = self._action(file_menu, "&Export predictions as CSV…", self.file_view.export_dialog,
                                          "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        live = bar.addMenu("&Live")
        self.listen_action = self._action(live, "Start/stop &listening", self._on_listen, "Ctrl+L")
        self.record_action = self._action(live, "&Record", self.live_view.toggle_recording, "Ctrl+R",
                                          "Record the input to WAV/FLAC in the chosen folder")

        play = bar.addMenu("&Playback")
        self.play_action = self._action(play, "&Play/Pause", self._on_play, Qt.Key.Key_Space)
        self._action(play, "&Stop", self.file_view.player.stop, "Ctrl+.")
        play.addSeparator()
        self._action(play, "Zoom &in", lambda: self.file_view.zoom(0.5), QKeySequence.StandardKey.ZoomIn)
        self._action(play, "Zoom &out", lambda: self.file_view.zoom(2.0), QKeySequence.StandardKey.ZoomOut)
        self._action(play, "&Fit the clip", self.file_view.zoom_fit, "Ctrl+0")

        models = bar.addMenu("&Model")
        self._action(models, "&Reload models", self.catalog.refresh, "F5")
        self._action(models, "&Add model file…", self.models_panel._on_add_clicked)
        self._action(models, "Choose the &user model folder…", self._on_choose_user_folder)
        models.addSeparator()
        self._action(models, "&Train a new model…", self.open_training_wizard, "Ctrl+T")
        self._action(models, "Open a &past run…", self.open_past_run)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About Earmark", lambda: show_about(self))

    def _on_open(self) -> None:
        self.tabs.setCurrentWidget(self.file_view)
        self.file_view.open_dialog()

    def _on_listen(self) -> None:
        self.tabs.setCurrentWidget(self.live_view)
        self.live_view.stop() if self.live_view.running else self.live_view.start()

    def _on_play(self) -> None:
        if self.tabs.currentWidget() is self.file_view:
            self.file_view.player.toggle()

    def open_training_wizard(self) -> None:
        try:
            from gui.wizard import open_wizard
        except ImportError as exc:
            missing = getattr(exc, "name", "") or ""
            reason = ("Training needs PyTorch, which is not installed. Install it with "
                      "<code>pip install earmark[train]</code>." if missing.startswith("torch")
                      else f"The training wizard is not available in this installation ({exc}).")
            QMessageBox.information(self, "Train a new model", reason)
            return
        try:
            self.wizard = open_wizard(self)
        except ImportError as exc:
            QMessageBox.information(self, "Train a new model",
                                    f"Training needs the optional training packages ({exc}). "
                                    "Install them with <code>pip install earmark[train]</code>.")

    def _on_choose_user_folder(self) -> None:
        current = self.settings.get("models/user_folder") or str(user_model_dir())
        folder = QFileDialog.getExistingDirectory(self, "Folder with your models", current)
        if folder:
            self.set_user_folder(folder)

    def set_user_folder(self, folder: str | Path) -> None:
        """Look for models in ``folder`` (besides models_onnx/) from now on, and remember it."""
        self.settings.set("models/user_folder", str(folder))
        self.catalog.folders = [(k, f) for k, f in self.catalog.folders if k != "user"] + [("user", Path(folder))]
        self.catalog.refresh()
        self.show_status(f"Models: {len(self.catalog.entries)} found; your folder is {folder}")

    def open_past_run(self) -> None:
        try:
            from gui.wizard import open_past_run
        except ImportError as exc:
            QMessageBox.information(self, "Open a past run", f"Past runs cannot be opened here ({exc}).")
            return
        open_past_run(self)

    # ---- status --------------------------------------------------------------------
    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, STATUS_MS)

    def _on_catalog_current(self, entry) -> None:
        if entry is None:
            self.model_status.setText("No model")
            return
        self.model_status.setText(f"Model: {entry.name}")
        self.settings.set("models/current", str(entry.path))

    # ---- settings and closing -------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.get("window/geometry")
        if geometry is not None and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 820)
        self.tabs.setCurrentIndex(min(self.settings.get("window/tab"), self.tabs.count() - 1))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.settings.set("window/geometry", self.saveGeometry())
        self.settings.set("window/tab", self.tabs.currentIndex())
        self.settings.sync()
        self.live_view.shutdown()
        self.file_view.shutdown()
        if self.wizard is not None:
            self.wizard.close()
        for view in (self.audit_view,):
            shutdown = getattr(view, "shutdown", None) or getattr(view, "close_workers", None)
            if callable(shutdown):
                shutdown()
        self.catalog.unsubscribe("current", self._on_catalog_current)
        self.catalog.shutdown()
        super().closeEvent(event)
        self.closed.emit()
