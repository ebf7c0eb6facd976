"""The main window: Live, File and Audit tabs, the models panel, menus and the status bar.

``open_path`` opens what a person hands over (``earmark FILE``, File ▸ Open recent): an audio
file in the File tab, a data set folder (or CSV) in Audit, a model in the Models panel.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from engine.annotations.regions import sidecar_path
from engine.models.catalog import ModelCatalog
from engine.userdirs import bundled_model_dir, user_model_dir
from gui.about import show_about
from gui.file.annotate_view import AnnotateView
from gui.file_view import FileView
from gui.help import HelpActions
from gui.index.label_actions import LabelActions
from gui.live_view import LiveView
from gui.models_panel import ModelsPanel
from gui.settings import Settings
from gui.view_actions import ViewActions
from gui.widgets.edit_actions import edit_actions
from gui.widgets.elided_label import ElidedLabel
from gui.widgets.recent_menu import RecentMenu, RecentPaths
from gui.workers.registry import workers

log = logging.getLogger(__name__)
STATUS_MS = 8000
DEFAULT_SIZE_PX = (1400, 820)
MODEL_STATUS_MAX_PX = 360
CLOSE_LIMIT_S = 5.0       # closing waits this long for cancelled jobs, all together
CLOSE_POLL_MS = 200       # then checks this often for a job that overran


def default_catalog(settings: Settings) -> ModelCatalog:
    user = settings.get("models/user_folder") or str(user_model_dir())
    return ModelCatalog([("shipped", bundled_model_dir()), ("user", user)])


FRAME_ALLOWANCE_PX = (8, 40)  # a window manager's borders and title bar, unknown before the window shows


def fitting_size(widget: QWidget, width_px: int, height_px: int) -> tuple[int, int]:
    """``width_px`` x ``height_px``, or less where the screen is smaller (a 1366x768 laptop): the
    window *with* its frame fits, so its status bar is not pushed off the screen by a title bar."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return width_px, height_px
    available = screen.availableGeometry()
    frame_w, frame_h = FRAME_ALLOWANCE_PX
    return min(width_px, available.width() - frame_w), min(height_px, available.height() - frame_h)


class MainWindow(HelpActions, ViewActions, LabelActions, QMainWindow):
    closed = Signal()

    def __init__(self, settings: Settings | None = None, catalog: ModelCatalog | None = None,
                 *, use_audio_device: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("Earmark")
        self.settings = settings or Settings()
        self._use_audio_device = use_audio_device
        self.wizard = None
        self._closing = self._waiting_for_jobs = False
        self._close_retry = QTimer(self)          # closes again once an overrunning job has ended
        self._close_retry.setSingleShot(True)
        self._close_retry.timeout.connect(self.close)
        self.recent = RecentPaths(self.settings)
        self.catalog = catalog or default_catalog(self.settings)
        self.catalog.subscribe("current", self._on_catalog_current)
        self.live_view = LiveView(self.catalog, self.settings)
        self.file_view = FileView(self.catalog, self.settings, use_audio_device=use_audio_device)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live_view, "Live")
        self.tabs.addTab(self.file_view, "File")
        self.audit_view = self._make_audit_view()
        self.annotate_view = AnnotateView(self.catalog, self.settings, use_audio_device=use_audio_device)
        self.tabs.addTab(self.annotate_view, "Annotate")
        self.file_view.long_file.connect(self._on_annotate_file)
        self.file_view.spectrogram.remember(self.settings, "file/spectrogram")   # colours, dB range
        if self.audit_view is not None and hasattr(self.audit_view, "clip_panel"):
            self.audit_view.clip_panel.spectrogram.remember(self.settings, "audit/spectrogram")
            self.audit_view.clip_panel.spectrogram_settings.remember(self.settings, "audit")   # FFT, window, overlap
        self.setCentralWidget(self.tabs)
        self.models_panel = ModelsPanel(self.catalog)
        dock = QDockWidget("Models", self)
        dock.setObjectName("models_dock")
        dock.setWidget(self.models_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.models_dock = dock
        self.resizeDocks([dock], [280], Qt.Orientation.Horizontal)
        self.model_status = ElidedLabel()
        self.model_status.setMaximumWidth(MODEL_STATUS_MAX_PX)  # a long model name never widens the window
        self.statusBar().addPermanentWidget(self.model_status)
        for source in (self.live_view, self.file_view, self.models_panel, self.audit_view, self.annotate_view):
            if source is not None:
                source.status_message.connect(self.show_status)
        self.file_view.loaded.connect(self._on_file_loaded)
        self.annotate_view.opened.connect(self._on_annotate_opened)
        if self.audit_view is not None:
            self.audit_view.opened.connect(self._on_audit_opened)
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

    def _on_annotate_file(self, path) -> None:
        self.tabs.setCurrentWidget(self.annotate_view)
        self.annotate_view.open_file(path)

    def _on_annotate(self) -> None:
        self.tabs.setCurrentWidget(self.annotate_view)
        self.annotate_view.open_dialog()

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
        self.open_dataset_action = self._action(file_menu, "Open &data set…", self._on_open_dataset, "Ctrl+D",
                                                "Open a data set folder (or CSV) in the Audit tab")
        self.open_dataset_action.setEnabled(self.audit_view is not None)
        self.recent_menu = RecentMenu(self.recent, self)
        self.recent_menu.chosen.connect(self.open_path)
        file_menu.addMenu(self.recent_menu)
        self.export_action = self._action(file_menu, "&Export predictions as CSV…", self.file_view.export_dialog,
                                          "Ctrl+E")
        self._action(file_menu, "&Annotate a recording…", self._on_annotate, "Ctrl+Shift+O",
                     "Open a recording of any length to mark, label and export regions")
        self._action(file_menu, "Index &map…", self._on_index_map, tip="Open an index folder (main.py index "
                     "makes one) and see every window of it on a map, coloured by answer or recording")
        self._add_label_menu_action(file_menu)   # File ▸ Label from an index… (gui/index/label_actions.py)
        self._action(file_menu, "Save the &view as an image…", self.save_view_dialog, "Ctrl+Shift+S",
                     "Save what the current tab shows as a PNG image or an SVG drawing")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        self.edit_menu = bar.addMenu("&Edit")
        self._no_edit = [QAction(text, self, enabled=False) for text in ("&Undo", "&Redo")]
        self._edit_actions = {self.annotate_view: (self.annotate_view.undo_action, self.annotate_view.redo_action)}
        if self.audit_view is not None:
            self._edit_actions[self.audit_view] = edit_actions(self.audit_view, self.audit_view.commands.undo,
                                                               self.audit_view.commands.redo)
        self.tabs.currentChanged.connect(self._update_edit_menu)
        self._build_more_like_this()             # the Annotate tab's Edit ▸ More like this…

        live = bar.addMenu("&Live")
        self.listen_action = self._action(live, "Start/stop &listening", self._on_listen, "Ctrl+L")
        self.record_action = self._action(live, "&Record", self.live_view.toggle_recording, "Ctrl+R",
                                          "Record the input to WAV/FLAC in the chosen folder")

        play = bar.addMenu("&Playback")
        self.play_action = self._action(play, "&Play/Pause", self._on_play, Qt.Key.Key_Space)
        self._action(play, "&Stop", self.file_view.player.stop, "Ctrl+.")
        play.addSeparator()
        self._action(play, "Zoom &in", lambda: self._zoom_view().zoom(0.5), QKeySequence.StandardKey.ZoomIn)
        self._action(play, "Zoom &out", lambda: self._zoom_view().zoom(2.0), QKeySequence.StandardKey.ZoomOut)
        self._action(play, "&Fit the clip", lambda: self._zoom_view().zoom_fit(), "Ctrl+0")
        play.addSeparator()
        self._build_speed_menu(play)
        self.tabs.currentChanged.connect(self._sync_speed_menu)

        models = bar.addMenu("&Model")
        self._action(models, "&Reload models", self.catalog.refresh, "F5")
        self._action(models, "&Add model file…", self.models_panel._on_add_clicked)
        self._action(models, "Choose the &user model folder…", self._on_choose_user_folder)
        models.addSeparator()
        self._action(models, "&Train a new model…", self.open_training_wizard, "Ctrl+T")
        self._action(models, "Open a &past run…", self.open_past_run)

        view = bar.addMenu("&View")
        self.models_dock_action = self.models_dock.toggleViewAction()
        self.models_dock_action.setText("&Models panel")
        self.models_dock_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.models_dock_action.setStatusTip("Show or hide the Models panel (a closed panel comes back here)")
        view.addAction(self.models_dock_action)
        view.addSeparator()
        for i in range(self.tabs.count()):
            self._action(view, f"&{i + 1}  {self.tabs.tabText(i)} tab", lambda _=False, i=i: self.tabs.setCurrentIndex(i),
                         f"Alt+{i + 1}")

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts,
                                             QKeySequence.StandardKey.HelpContents)
        self.shortcuts_action.setShortcuts([QKeySequence("F1"), QKeySequence("Ctrl+/")])
        self.manual_action = self._action(help_menu, "&Manual for this tab", self.open_manual, "Shift+F1",
                                          "Open the manual page of the current tab (Models ▸ Train: the wizard's)")
        self._action(help_menu, "&About Earmark", lambda: show_about(self))

    def _update_edit_menu(self, *_args) -> None:
        """Edit ▸ Undo / Redo are the current tab's (their keys work while the focus is in that tab)."""
        self.edit_menu.clear()
        self.edit_menu.addActions(list(self._edit_actions.get(self.tabs.currentWidget(), self._no_edit)))

    def _on_open(self) -> None:
        self.tabs.setCurrentWidget(self.file_view)
        self.file_view.open_dialog()

    def _on_index_map(self) -> None:
        """File ▸ Index map…: the map opens in a window of its own (gui.index.map_view)."""
        from gui.index.map_view import open_index_map

        window = open_index_map(self)
        if window is not None:
            window.view.annotate_requested.connect(self.show_in_annotate)
            window.view.like_requested.connect(lambda p, s, e, root=window.root: self.more_like_this_in(root, p, s, e))

    def show_in_annotate(self, path: str, start_s: float, end_s: float) -> bool:
        """Open ``path`` in the Annotate tab with ``start_s..end_s`` selected and in view (a window
        chosen on the index map); False when the recording cannot be opened (the tab says why)."""
        self.tabs.setCurrentWidget(self.annotate_view)
        view = self.annotate_view
        if (view.audio is None or view.audio.path != Path(path)) and not view.open_file(path):
            return False
        pad = max(1.0, end_s - start_s)
        view.zoom_to(max(0.0, start_s - pad), end_s + pad)
        view.set_selection((start_s, end_s))
        return True

    def _on_open_dataset(self) -> None:
        """File ▸ Open data set…: the folder dialog starts where the last data set was."""
        if self.audit_view is None:
            return
        self.tabs.setCurrentWidget(self.audit_view)
        folder = QFileDialog.getExistingDirectory(self, "Open a data set folder", self.settings.get("audit/last_dir"))
        if folder:
            self.audit_view.open_dataset(folder, self.audit_view.actions_bar.layout_choice)

    def open_path(self, path: str | Path) -> bool:
        """Open an audio file (File tab), a data set folder or CSV (Audit tab) or a model (.onnx)."""
        path = Path(path)
        if not path.exists():
            self.show_status(f"Cannot open {path}: there is no such file or folder")
            self.recent.remove(path)
            return False
        if path.is_dir() or path.suffix.lower() == ".csv":
            if self.audit_view is None:
                self.show_status(f"Cannot open the data set {path}: the Audit tab is not installed")
                return False
            self.tabs.setCurrentWidget(self.audit_view)
            self.audit_view.open_dataset(path, self.audit_view.actions_bar.layout_choice)  # a job: errors inline
            return True
        if path.suffix.lower() == ".onnx":
            self.models_panel.add_model(path)
            return True
        if sidecar_path(path).is_file():  # an annotated recording opens where its regions are
            self._on_annotate_file(path)
            return True
        self.tabs.setCurrentWidget(self.file_view)
        self.file_view.open_file(path)
        return True

    def _on_file_loaded(self, audio) -> None:
        if getattr(audio, "path", None):
            self.recent.add(audio.path)

    def _on_annotate_opened(self, path) -> None:
        self.recent.add(path)
        self.settings.set("annotate/last_recording", str(path))

    def _reopen_last_recording(self) -> None:
        """The recording open in Annotate when the app was last closed opens there again."""
        saved = self.settings.get("annotate/last_recording")
        if saved and Path(saved).is_file() and self.annotate_view.audio is None:
            self.annotate_view.open_file(saved)

    def _on_audit_opened(self, manifest) -> None:
        self.recent.add(manifest.root)
        self.settings.set("audit/last_dir", str(Path(manifest.root).parent))
        self.settings.set("audit/last_data_set", str(manifest.root))
        self.settings.set("audit/last_layout", manifest.layout or "")

    def _reopen_last_data_set(self) -> None:
        """The data set open in Audit when the app was last closed opens again."""
        saved = self.settings.get("audit/last_data_set")
        if not saved or self.audit_view is None or self.audit_view.session.is_open:
            return
        if not Path(saved).exists():
            self.settings.set("audit/last_data_set", "")
            self.show_status(f"The last data set, {saved}, is gone; open another with File ▸ Open data set…")
            return
        self.audit_view.open_dataset(saved, self.settings.get("audit/last_layout") or None)

    def _on_listen(self) -> None:
        self.tabs.setCurrentWidget(self.live_view)
        self.live_view.stop() if self.live_view.running else self.live_view.start()

    def _on_play(self) -> None:
        if self.tabs.currentWidget() is self.file_view:
            self.file_view.player.toggle()
        elif self.tabs.currentWidget() is self.annotate_view:
            self.annotate_view.playback.toggle()

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
            self.resize(*fitting_size(self, *DEFAULT_SIZE_PX))
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is not None:  # top left of the free area, where the whole frame fits
                self.move(screen.availableGeometry().topLeft())
        self.tabs.setCurrentIndex(min(self.settings.get("window/tab"), self.tabs.count() - 1))
        QTimer.singleShot(0, self, self._reopen_last_data_set)  # after the window shows
        QTimer.singleShot(0, self, self._reopen_last_recording)

    def busy_description(self) -> str:
        """What quitting now would throw away: "Training, Recording" ("" when nothing)."""
        parts = [workers.describe(confirm_only=True)]
        parts += [getattr(view, "busy_description", lambda: "")() for view in (self.live_view, self.audit_view)]
        return ", ".join(dict.fromkeys(p for p in parts if p))

    def confirm_quit(self, busy: str) -> bool:
        """Ask before throwing away ``busy`` work; tests replace this method."""
        answer = QMessageBox.question(
            self, "Quit Earmark?", f"{busy} {'are' if ', ' in busy else 'is'} still running. Quit anyway? "
                                   f"{'They' if ', ' in busy else 'It'} will be cancelled.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if not self._closing:
            busy = self.busy_description()
            if busy and not self.confirm_quit(busy):
                event.ignore()
                return
            self._closing = True
            with workers.deadline(CLOSE_LIMIT_S):   # one time limit for every view's jobs together
                self._shut_down_views()
                still = workers.join(CLOSE_LIMIT_S)
        else:
            still = workers.join(0.0)                # polling: an overrunning job is never destroyed
        if still:
            event.ignore()
            if not self._waiting_for_jobs:
                self.show_status(f"Waiting for {workers.describe()} to stop; the window closes when it has")
                for part in (self.tabs, self.menuBar(), self.models_dock):   # shut down: nothing new starts
                    part.setEnabled(False)
            self._waiting_for_jobs = True
            self._close_retry.start(CLOSE_POLL_MS)
            return
        super().closeEvent(event)
        self.closed.emit()

    def _shut_down_views(self) -> None:
        self.settings.set("window/geometry", self.saveGeometry())
        self.settings.set("window/tab", self.tabs.currentIndex())
        self.settings.sync()
        workers.cancel_all()            # everything at once, then each view joins its own
        self.live_view.shutdown()
        self.file_view.shutdown()
        self.annotate_view.shutdown()
        self._shut_down_label_window()
        if self.wizard is not None:
            self.wizard.close()
        for view in (self.audit_view,):
            shutdown = getattr(view, "shutdown", None) or getattr(view, "close_workers", None)
            if callable(shutdown):
                shutdown()
        self.catalog.unsubscribe("current", self._on_catalog_current)
        self.catalog.shutdown()
