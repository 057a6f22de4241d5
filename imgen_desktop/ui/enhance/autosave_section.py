"""Sidebar: where results go by themselves — "Auto-save each result" into a folder, the naming
template (``{name}_{model}{ext}``; also ``{task}``, ``{scale}``, ``{date}``) and the format. The
template and format also name the files of a batch. Remembered in the app settings."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget,
)

from imgen_desktop.core.batch import DEFAULT_TEMPLATE, TEMPLATE_FIELDS, validate_template
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.ui.enhance.widgets import hint_label, section_title
from imgen_desktop.ui.settings import app_settings, read_bool, read_str
from imgen_desktop.ui.theme import colors, theme_notifier

FORMATS = (("Same as the photo", ""), ("PNG", "png"), ("JPEG", "jpeg"), ("WebP", "webp"), ("TIFF", "tiff"))


class AutoSaveSection(QWidget):
    sigChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("autoSaveBox")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addWidget(section_title("Output files", self))
        self.check = QCheckBox("Auto-save each result", self)
        self.check.setObjectName("autoSaveCheck")
        self.check.setToolTip("After every Apply, write the result into the folder below (Save… still works)")
        self.check.setChecked(read_bool("enhance/autosave", False))
        lay.addWidget(self.check)
        row = QHBoxLayout()
        self.folder_edit = QLineEdit(read_str("enhance/autosave_dir", ""), self)
        self.folder_edit.setObjectName("autoSaveFolderEdit")
        self.folder_edit.setPlaceholderText("Folder for the results")
        self.browse_button = QToolButton(self)
        self.browse_button.setObjectName("autoSaveBrowseButton")
        self.browse_button.setText("…")
        self.browse_button.setToolTip("Choose the folder")
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        lay.addLayout(row)
        form = QHBoxLayout()
        form.addWidget(QLabel("Name", self))
        self.template_edit = QLineEdit(read_str("enhance/name_template", DEFAULT_TEMPLATE) or DEFAULT_TEMPLATE, self)
        self.template_edit.setObjectName("nameTemplateEdit")
        self.template_edit.setToolTip("File names of results and batches; fields: "
                                      + " ".join("{" + f + "}" for f in TEMPLATE_FIELDS))
        form.addWidget(self.template_edit, 1)
        lay.addLayout(form)
        fmt_row = QHBoxLayout()
        fmt_row.addWidget(QLabel("Format", self))
        self.format_combo = QComboBox(self)
        self.format_combo.setObjectName("formatCombo")
        for text, value in FORMATS:
            self.format_combo.addItem(text, value)
        i = self.format_combo.findData(read_str("enhance/format", ""))
        self.format_combo.setCurrentIndex(max(0, i))
        fmt_row.addWidget(self.format_combo, 1)
        lay.addLayout(fmt_row)
        self.error_label = hint_label("", self)
        self.error_label.setObjectName("templateError")
        self.error_label.setEnabled(True)
        lay.addWidget(self.error_label)
        self.check.toggled.connect(self._on_autosave_changed)
        self.folder_edit.editingFinished.connect(self._on_folder_changed)
        self.browse_button.clicked.connect(self._on_browse)
        self.template_edit.textChanged.connect(self._on_template_changed)
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        self._on_template_changed(self.template_edit.text(), save=False)
        self._refresh()

    # --- values --------------------------------------------------------------------------------
    def enabled(self) -> bool:
        return self.check.isChecked()

    def folder(self) -> str:
        return self.folder_edit.text().strip()

    def fmt(self) -> str | None:
        return self.format_combo.currentData() or None

    def template(self) -> str:
        """The naming template; ImgenError (one sentence) when it is not usable."""
        return validate_template(self.template_edit.text())

    def template_error(self) -> str:
        try:
            self.template()
        except ImgenError as exc:
            return str(exc)[:1].upper() + str(exc)[1:] + "."
        return ""

    def set_values(self, enabled: bool | None = None, folder: str | None = None, template: str | None = None,
                   fmt: str | None = None) -> None:
        if folder is not None:
            self.folder_edit.setText(folder)
            self._on_folder_changed()
        if template is not None:
            self.template_edit.setText(template)
        if fmt is not None:
            self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(fmt)))
        if enabled is not None:
            self.check.setChecked(enabled)

    # --- handlers ----------------------------------------------------------------------------------
    def _on_autosave_changed(self, on: bool) -> None:
        app_settings().setValue("enhance/autosave", bool(on))
        self._refresh()
        self.sigChanged.emit()

    def _on_folder_changed(self) -> None:
        app_settings().setValue("enhance/autosave_dir", self.folder())
        self.sigChanged.emit()

    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Auto-save results into…", self.folder() or str(Path.home()))
        if folder:
            with QSignalBlocker(self.folder_edit):
                self.folder_edit.setText(folder)
            self._on_folder_changed()

    def _on_template_changed(self, text: str, save: bool = True) -> None:
        error = self.template_error()
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))
        self._restyle_error()
        if not error and save:
            app_settings().setValue("enhance/name_template", text.strip())
        self.sigChanged.emit()

    def _on_theme_changed(self, _theme: str = "") -> None:
        self._restyle_error()  # (only the colour: a section of a closed window must not write settings)

    def _restyle_error(self) -> None:
        self.error_label.setStyleSheet(f"color: {colors().bad};" if self.error_label.text() else "")

    def _on_format_changed(self) -> None:
        app_settings().setValue("enhance/format", self.fmt() or "")
        self.sigChanged.emit()

    def _refresh(self) -> None:
        for w in (self.folder_edit, self.browse_button):
            w.setEnabled(self.enabled())
