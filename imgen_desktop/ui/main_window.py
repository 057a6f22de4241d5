"""The main window: Enhance, Train and Models areas as tabs, menus, status bar."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget

from imgen_desktop import APP_NAME, __version__
from imgen_desktop.ui import settings as st
from imgen_desktop.ui.device_scan import DeviceScanner
from imgen_desktop.ui.enhance import EnhanceCanvas
from imgen_desktop.ui.models_panel import ModelsPanel
from imgen_desktop.ui.settings import app_settings
from imgen_desktop.ui.train import TrainPanel


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self._fit_to_screen(1280, 820)
        self._devices: list[tuple[str, str]] = []
        self._device_warning = ""

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.canvas = EnhanceCanvas(self)
        self.train_panel = TrainPanel(self)
        self.models_panel = ModelsPanel(self)
        self.tabs.addTab(self.canvas, "Enhance photos")
        self.tabs.addTab(self.train_panel, "Train models")
        self.tabs.addTab(self.models_panel, "Models")
        self.setCentralWidget(self.tabs)

        self.device_label = QLabel("Devices: detecting…", self)
        self.device_label.setObjectName("deviceStatus")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().showMessage("Drop a photo on the Enhance tab, or train a model on the Train tab.", 8000)

        self.setAcceptDrops(True)  # photos and model files dropped on any tab (the canvas takes its own)
        self._build_menus()
        self._connect_panels()
        self._restore_layout()

        self._scanner = DeviceScanner(self)
        self._scanner.sigDevices.connect(self._on_devices_found)
        # The scan imports torch: start it once the window has been painted (see paintEvent),
        # so the window appears first; the timer covers a window that is never shown.
        self._scan_started = False
        QTimer.singleShot(2000, self._start_device_scan)

    def _start_device_scan(self) -> None:
        if not self._scan_started:
            self._scan_started = True
            self._scanner.start()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if not self._scan_started:
            QTimer.singleShot(0, self._start_device_scan)

    # --- construction -------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = QAction("&Open image…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._on_open)
        self.open_folder_action = QAction("Open &folder…", self, shortcut=QKeySequence("Ctrl+Shift+O"))
        self.open_folder_action.setToolTip("Open every picture in a folder as a batch")
        self.open_folder_action.triggered.connect(self._on_open_folder)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = QAction("&Save result…", self, shortcut=QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self._on_save)
        self.paste_action = QAction("&Paste image", self, shortcut=QKeySequence.StandardKey.Paste)
        self.paste_action.triggered.connect(self._on_paste)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.quit)
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.open_folder_action)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        for action in (self.save_action, self.paste_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self._fill_recent_menu()

        view = bar.addMenu("&View")
        for i, title in enumerate(("&Enhance photos", "&Train models", "&Models")):
            act = QAction(title, self, shortcut=QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            view.addAction(act)
        view.addSeparator()
        theme_menu = view.addMenu("T&heme")
        group = QActionGroup(self)
        from imgen_desktop.ui.theme import THEMES, current_theme, theme_notifier

        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            act = QAction(theme.capitalize(), self, checkable=True)
            act.setChecked(theme == current_theme())
            act.triggered.connect(lambda _=False, t=theme: self._on_theme_chosen(t))
            group.addAction(act)
            theme_menu.addAction(act)
            self.theme_actions[theme] = act
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)

        help_menu = bar.addMenu("&Help")
        shortcuts = QAction("&Keyboard shortcuts", self, shortcut=QKeySequence("Ctrl+/"))
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)
        about = QAction(f"&About {APP_NAME}", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _connect_panels(self) -> None:
        self.train_panel.sigModelSaved.connect(self._on_model_saved)
        self.importer = self.models_panel.importer  # one importer for Import… and every drop
        self.importer.sigStarted.connect(self._on_import_started)
        self.importer.sigImported.connect(self._on_model_imported)
        self.importer.sigFailed.connect(self._on_import_failed)
        self.canvas.set_model_importer(self.import_models)
        self.models_panel.sigModelsChanged.connect(self.canvas.refresh_models)
        if hasattr(self.models_panel, "sigUseModel"):
            self.models_panel.sigUseModel.connect(self._on_use_model)
        # recent files: the canvas says which file it opened (sigPhotoOpened); an older canvas
        # only names the photo, whose source is then the file path
        opened = getattr(self.canvas, "sigPhotoOpened", None)
        if opened is not None:
            opened.connect(self._on_photo_opened)
        else:
            self.canvas.sigPhotoLoaded.connect(self._on_photo_loaded)

    # --- handlers -----------------------------------------------------------------------
    def _on_open(self) -> None:
        self.tabs.setCurrentWidget(self.canvas)
        self.canvas.open_dialog()

    def _on_save(self) -> None:
        self.tabs.setCurrentWidget(self.canvas)
        self.canvas.save_result()

    def _on_paste(self) -> None:
        self.tabs.setCurrentWidget(self.canvas)
        self.canvas.paste()

    def _on_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of pictures", st.last_folder("open"))
        if folder:
            st.remember_folder("open", folder)
            self.open_paths([folder])

    def _on_photo_opened(self, path: str) -> None:
        if path and os.path.isfile(path):
            st.add_recent_file(path)
            self._fill_recent_menu()

    def _on_photo_loaded(self, _name: str) -> None:
        photo = self.canvas.photo() if callable(getattr(self.canvas, "photo", None)) else None
        self._on_photo_opened(str(getattr(photo, "source", "") or ""))

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = st.recent_files()
        for i, path in enumerate(files):
            name = Path(path).name.replace("&", "&&")
            act = menu.addAction(f"&{i + 1} {name}" if i < 9 else f"1&0 {name}")
            act.setToolTip(path)
            act.setStatusTip(path)
            act.setData(path)
            act.triggered.connect(lambda _=False, p=path: self._on_recent_chosen(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("&Clear the list")
        clear.setObjectName("clearRecentAction")
        clear.setEnabled(bool(files))
        clear.triggered.connect(self._on_recent_cleared)
        menu.setToolTipsVisible(True)

    def _on_recent_chosen(self, path: str) -> None:
        if not os.path.exists(path):
            st.recent_files()  # forgets it (and any other file that has gone)
            self._fill_recent_menu()
            self.statusBar().showMessage(f"{Path(path).name} is no longer there ({path}); removed it from the list.", 10000)
            return
        self.open_paths([path])

    def _on_recent_cleared(self) -> None:
        st.clear_recent_files()
        self._fill_recent_menu()

    def _on_theme_chosen(self, theme: str) -> None:
        from imgen_desktop.ui.theme import apply_theme

        apply_theme(QApplication.instance(), theme)

    def _on_theme_changed(self, theme: str) -> None:
        act = self.theme_actions.get(theme)
        if act is not None and not act.isChecked():
            with QSignalBlocker(act):
                act.setChecked(True)

    def _on_model_saved(self, name: str) -> None:
        self.models_panel.refresh()
        self.canvas.refresh_models()
        self.statusBar().showMessage(f"Model {name!r} saved to the model store.", 8000)

    def _on_use_model(self, name: str) -> None:
        self.tabs.setCurrentWidget(self.canvas)
        self.canvas.select_model(name)

    def _on_devices_found(self, devices: list, warning: str) -> None:
        self._devices = [tuple(d) for d in devices]
        self._device_warning = warning
        best = next((label for dev_id, label in self._devices if dev_id != "cpu"), self._devices[0][1])
        self.device_label.setText(f"Device: {best}")
        self.device_label.setToolTip("\n".join(label for _, label in self._devices) + (f"\n\n{warning}" if warning else ""))
        if warning:
            self.statusBar().showMessage(warning, 15000)
        self.train_panel.set_devices(self._devices)
        self.canvas.set_devices(self._devices)

    def open_paths(self, paths: list[str]) -> None:
        """Open photos / folders on the canvas; model files among them are imported (and
        chosen on the canvas when photos come with them)."""
        from imgen_desktop.ui.model_import import split_models

        models, photos = split_models(paths)
        if models:
            self.import_models(models, select=bool(photos))
        if photos:
            self.tabs.setCurrentWidget(self.canvas)
            self.canvas.open_paths(photos)

    # --- model files: dropped anywhere, or Import… on the Models tab ------------------------------
    def import_models(self, paths: list[str], select: bool = False) -> None:
        """Import model files in the background; ``select``: choose each on the canvas when in."""
        for path in paths:
            self.importer.import_file(path, context="canvas" if select else "window")

    def _on_import_started(self, file: str, context: object) -> None:
        self.statusBar().showMessage(f"Importing the model {file}…")  # stays until the import ends
        if context == "canvas":
            self.canvas.show_import_started(file)

    def _on_model_imported(self, name: str, line: str, context: object) -> None:
        self.statusBar().showMessage(line, 15000)
        if context == "canvas":
            self.canvas.show_imported(line)
            self.canvas.select_model(name)  # lists the models again first when it is not there yet
        else:
            self.canvas.refresh_models()

    def _on_import_failed(self, message: str, context: object) -> None:
        self.statusBar().showMessage(message, 20000)
        if context == "canvas":
            self.canvas.show_import_failed(message)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        mime = event.mimeData()
        if mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    def show_shortcuts(self) -> None:
        from imgen_desktop.ui.shortcuts_dialog import ShortcutsDialog

        self._shortcuts_dialog = ShortcutsDialog(self)
        self._shortcuts_dialog.open()

    def show_about(self) -> None:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        try:
            from imgen_desktop.core.devices import torch_version as _torch_version

            torch_version = _torch_version()
        except Exception as exc:  # pragma: no cover - torch is a hard dependency
            torch_version = f"unavailable ({exc})"
        devices = "<br>".join(label for _, label in self._devices) or "detecting…"
        text = (
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Train GAN, VAE and RNN image models on your own pictures, and upscale, denoise "
            "and inpaint photos with built-in or your own models.</p>"
            f"<p>PyTorch {torch_version}<br>Qt {qVersion()} (PySide6 {pyside_version})</p>"
            f"<p><b>Devices</b><br>{devices}</p>"
            + (f"<p><i>{self._device_warning}</i></p>" if self._device_warning else "")
        )
        box = QMessageBox(self)
        box.setObjectName("aboutBox")
        box.setWindowTitle(f"About {APP_NAME}")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(text)
        box.open()
        self._about_box = box

    # --- layout persistence and closing ------------------------------------------------------
    def _fit_to_screen(self, width: int, height: int) -> None:
        """The default size, shrunk to fit the screen's free area (never larger than the screen)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height())
            self.resize(width, height)
            self.move(free.x() + (free.width() - width) // 2, free.y() + (free.height() - height) // 2)
        else:
            self.resize(width, height)

    def _restore_layout(self) -> None:
        geometry = st.read_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)  # a value Qt cannot read leaves the default size
        self.tabs.setCurrentIndex(st.read_int("window/tab", 0, 0, self.tabs.count() - 1))

    def _save_layout(self) -> None:
        s = app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.sync()

    def quit(self) -> bool:
        """File → Quit: close the window, asking first about what would be lost; True if closed."""
        self._user_close = True
        try:
            return self.close()
        finally:
            self._user_close = False

    def _may_close(self, by_user: bool) -> bool:
        """Ask about what closing would lose (an unsaved result, a training run); True = close.

        The unsaved result is asked about when the user closes (Quit, the window's close button),
        not when code closes the window; a running training is always asked about."""
        confirm = getattr(self.canvas, "confirm_discard", None)
        if by_user and confirm is not None and not confirm():
            return False
        if self.train_panel.is_training():
            answer = QMessageBox.question(
                self,
                "Training in progress",
                "A model is training. Stop it, save a checkpoint and the model so far, and quit?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self.train_panel.stop_and_wait()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self._may_close(event.spontaneous() or getattr(self, "_user_close", False)):
            event.ignore()
            return
        self.canvas.shutdown()
        self.models_panel.shutdown()
        # no scan may start after closing (the fallback timer may still be pending); one that
        # runs may still be importing torch, and destroying a running QThread aborts the
        # process, so wait for it (torch's import always finishes, if slowly on a busy machine)
        self._scan_started = True
        self._scanner.wait()
        self._save_layout()
        super().closeEvent(event)
