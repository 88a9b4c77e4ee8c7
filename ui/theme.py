"""Light and dark themes: a Fusion palette for the widgets and matching pyqtgraph colours.

The theme follows the system colour scheme (Qt 6 ``styleHints().colorScheme()``) unless
the user picks one in View ▸ Theme. Series colours are the Okabe–Ito palette, readable
for colour-blind users on both backgrounds.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    plot_bg: str
    plot_fg: str
    grid_alpha: float
    accent: str
    loss: str
    gain: str
    warn: str
    error_bg: str
    warning_bg: str
    na_bg: str
    liquidated_bg: str
    flash_bg: str
    band: tuple[str, str, str]      # fan bands 1-99, 5-95, 25-75
    series: tuple[str, ...] = OKABE_ITO

    def color(self, i: int) -> str:
        return self.series[i % len(self.series)]

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme("light", window="#f3f4f6", base="#ffffff", alt_base="#f7f8fa", text="#1f2328",
              muted="#6b7280", plot_bg="#ffffff", plot_fg="#374151", grid_alpha=0.18,
              accent="#0b65c2", loss="#c43d00", gain="#00845f", warn="#b7791f",
              error_bg="#fde2e1", warning_bg="#fff4d6", na_bg="#f1f2f4", liquidated_bg="#fbd5d0",
              flash_bg="#ff8a70", band=("#cfe3f5", "#9cc6ea", "#5fa2d8"))
DARK = Theme("dark", window="#1e2126", base="#16181c", alt_base="#1c1f24", text="#e6e8eb",
             muted="#9aa3ad", plot_bg="#16181c", plot_fg="#c9d1d9", grid_alpha=0.22,
             accent="#58a6ff", loss="#ff7b54", gain="#3fcf8e", warn="#e3b341",
             error_bg="#5a1f1f", warning_bg="#4a3b12", na_bg="#202328", liquidated_bg="#5c2320",
             flash_bg="#b8412a", band=("#1d3550", "#24507a", "#2f6aa3"))


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    try:
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # very old Qt: guess from the palette
        return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def resolve(choice: str) -> Theme:
    """``"system"``, ``"light"`` or ``"dark"`` to a Theme."""
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    return DARK if system_is_dark() else LIGHT


def palette(theme: Theme) -> QPalette:
    pal = QPalette()
    c = QColor
    role = QPalette.ColorRole
    pal.setColor(role.Window, c(theme.window))
    pal.setColor(role.WindowText, c(theme.text))
    pal.setColor(role.Base, c(theme.base))
    pal.setColor(role.AlternateBase, c(theme.alt_base))
    pal.setColor(role.ToolTipBase, c(theme.base))
    pal.setColor(role.ToolTipText, c(theme.text))
    pal.setColor(role.PlaceholderText, c(theme.muted))
    pal.setColor(role.Text, c(theme.text))
    pal.setColor(role.Button, c(theme.window))
    pal.setColor(role.ButtonText, c(theme.text))
    pal.setColor(role.BrightText, c("#ff4d4d"))
    pal.setColor(role.Highlight, c(theme.accent))
    pal.setColor(role.HighlightedText, c("#ffffff"))
    pal.setColor(role.Link, c(theme.accent))
    pal.setColor(role.Mid, c("#3a3f46" if theme.dark else "#c8ccd2"))
    pal.setColor(role.Midlight, c("#2b2f35" if theme.dark else "#e3e6ea"))
    pal.setColor(role.Dark, c("#0e1013" if theme.dark else "#9aa1a9"))
    pal.setColor(role.Light, c("#3a3f46" if theme.dark else "#ffffff"))
    pal.setColor(role.Shadow, c("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.Text, role.WindowText, role.ButtonText):
        pal.setColor(disabled, r, c(theme.muted))
    return pal


def stylesheet(theme: Theme) -> str:
    """A few rules the palette cannot express (metric cards, section titles)."""
    border = "#30353c" if theme.dark else "#d7dbe0"
    return f"""
QFrame#MetricCard {{ background: {theme.base}; border: 1px solid {border}; border-radius: 6px; }}
QLabel#MetricTitle {{ color: {theme.muted}; font-size: 8.5pt; }}
QLabel#MetricValue {{ font-size: 13pt; font-weight: 600; }}
QLabel#MetricSub {{ color: {theme.muted}; font-size: 8.5pt; }}
QLabel#SectionTitle {{ font-weight: 600; font-size: 10pt; }}
QLabel#Hint {{ color: {theme.muted}; }}
QLabel#Banner {{ background: {theme.warning_bg}; border: 1px solid {theme.warn}; border-radius: 4px;
                 padding: 4px 8px; }}
QLabel#ErrorBanner {{ background: {theme.error_bg}; border: 1px solid {theme.loss}; border-radius: 4px;
                 padding: 4px 8px; }}
QTabWidget::pane {{ border-top: 1px solid {border}; }}
QTableView {{ gridline-color: {border}; }}
"""


def apply_to_app(theme: Theme) -> None:
    """Palette and style sheet of the application (skipped when unchanged: re-polishing
    every widget is slow)."""
    app = QApplication.instance()
    if app is None:
        return
    css = stylesheet(theme)
    if getattr(app, "_crashlab_theme", None) == theme.name and app.styleSheet() == css:
        return
    app.setPalette(palette(theme))
    app.setStyleSheet(css)
    app._crashlab_theme = theme.name


def watch_system_scheme(slot) -> None:
    """Connect ``slot`` (a QObject's bound method, so the connection dies with it) to the
    system switching between light and dark (Qt >= 6.5)."""
    try:
        QGuiApplication.styleHints().colorSchemeChanged.connect(slot)
    except AttributeError:
        pass
