"""CompareView: fit / 100% / zoom at the cursor / pan / split divider / toggle / checkerboard."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent

from imgen_desktop.ui.compare_view import CompareView, qimage_to_array, rgba_to_qimage


def _image(w: int, h: int, rgba=(200, 30, 30, 255)) -> QImage:
    arr = np.zeros((h, w, 4), np.uint8)
    arr[:] = rgba
    return rgba_to_qimage(arr)


@pytest.fixture
def view(qtbot):
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(816, 416)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_fit_centres_and_scales_to_the_window(view):
    view.set_images(_image(400, 200))
    assert view.zoom() == pytest.approx(2.0)  # (816 - 16) / 400 and (416 - 16) / 200
    rect = view.image_rect()
    assert rect.center().x() == pytest.approx(view.width() / 2)
    assert rect.center().y() == pytest.approx(view.height() / 2)
    assert rect.width() == pytest.approx(800)


def test_actual_size_keeps_the_centre_point(view):
    view.set_images(_image(400, 200))
    centre = QPointF(view.width() / 2, view.height() / 2)
    before = view.widget_to_display(centre)
    view.actual_size()
    assert view.zoom() == 1.0
    after = view.widget_to_display(centre)
    assert after.x() == pytest.approx(before.x()) and after.y() == pytest.approx(before.y())
    view.fit()
    assert view.zoom() == pytest.approx(2.0)


def test_zoom_at_keeps_the_point_under_the_cursor(view):
    view.set_images(_image(400, 200))
    cursor = QPointF(123.0, 77.0)
    anchor = view.widget_to_display(cursor)
    view.zoom_at(1.7, cursor)
    assert view.zoom() == pytest.approx(3.4)
    again = view.widget_to_display(cursor)
    assert again.x() == pytest.approx(anchor.x()) and again.y() == pytest.approx(anchor.y())


def test_wheel_zooms_at_the_cursor(view, qtbot):
    view.set_images(_image(400, 200))
    pos = QPointF(600.0, 300.0)
    anchor = view.widget_to_display(pos)
    z0 = view.zoom()
    event = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(event)
    assert view.zoom() == pytest.approx(z0 * 1.25)
    again = view.widget_to_display(pos)
    assert again.x() == pytest.approx(anchor.x()) and again.y() == pytest.approx(anchor.y())


def test_keyboard_zoom_in_out_fit_and_100(view, qtbot):
    view.set_images(_image(400, 200))
    z0 = view.zoom()
    qtbot.keyClick(view, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(z0 * 1.25)
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(z0 / 1.25)
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert view.zoom() == 1.0
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.zoom() == pytest.approx(z0)


def test_zoom_is_clamped(view):
    view.set_images(_image(40, 20))
    for _ in range(60):
        view.zoom_in()
    assert view.zoom() == 32.0
    for _ in range(120):
        view.zoom_out()
    assert view.zoom() == pytest.approx(0.02)


def test_drag_pans_the_image(view, qtbot):
    view.set_images(_image(400, 200))
    pan0 = view.pan()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(view, QPoint(160, 130))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(160, 130))
    assert view.pan().x() == pytest.approx(pan0.x() + 60)
    assert view.pan().y() == pytest.approx(pan0.y() + 30)


def test_after_an_upscale_before_and_after_share_one_rectangle(view):
    view.set_images(_image(200, 100))
    view.set_after(_image(400, 200, (30, 200, 30, 255)), mode="split")
    assert view.display_size().width() == 400  # display space = result pixels
    assert view.mode() == "split"
    assert view.zoom() == pytest.approx(2.0)  # still fitted, now to the larger result
    shot = view.grab().toImage()
    y = view.height() // 2 + 40
    left = shot.pixelColor(int(view.divider_x()) - 60, y)
    right = shot.pixelColor(int(view.divider_x()) + 60, y)
    assert left.red() > 150 and left.green() < 80  # before (red) on the left of the divider
    assert right.green() > 150 and right.red() < 80  # after (green) on the right


def test_split_divider_drags_and_clamps(view, qtbot):
    view.set_images(_image(200, 100))
    view.set_after(_image(200, 100, (30, 200, 30, 255)), mode="split")
    x0 = int(view.divider_x())
    y = view.height() // 2
    with qtbot.waitSignal(view.sigSplitChanged):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(x0, y))
        qtbot.mouseMove(view, QPoint(x0 + 200, y))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(x0 + 200, y))
    assert view.split() == pytest.approx((x0 + 200) / view.width(), abs=0.01)
    pan = view.pan()
    assert pan.x() == pytest.approx(view.pan().x())  # dragging the divider does not pan
    view.set_split(1.7)
    assert view.split() == 1.0


def test_space_toggles_before_and_after(view, qtbot):
    view.set_images(_image(200, 100))
    view.set_after(_image(200, 100, (30, 200, 30, 255)), mode="split")
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.mode() == "before"
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.mode() == "after"
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert view.mode() == "split"
    with pytest.raises(ValueError):
        view.set_mode("sideways")


def test_checkerboard_shows_through_transparency(view):
    view.set_images(_image(400, 200, (0, 0, 0, 0)))
    shot = view.grab().toImage()
    rect = view.image_rect()
    seen = {shot.pixelColor(int(rect.left()) + dx, int(rect.top()) + 4).red() for dx in (4, 12, 20, 28)}
    assert seen == {153, 204}


def test_paint_mode_reports_display_coordinates(view, qtbot):
    view.set_images(_image(400, 200))
    view.set_paint_mode(True, 20)
    got = []
    view.sigPaintPressed.connect(lambda x, y: got.append((x, y)))
    target = view.display_to_widget(QPointF(100, 50)).toPoint()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=target)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=target)
    assert got and got[0][0] == pytest.approx(100, abs=1) and got[0][1] == pytest.approx(50, abs=1)


def test_qimage_numpy_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, np.full((7, 9), 255, np.uint8)])
    back = qimage_to_array(rgba_to_qimage(rgba))
    assert back.shape == (7, 9, 3) and np.array_equal(back, rgb)  # opaque -> RGB
    rgba[0, 0, 3] = 10
    assert qimage_to_array(rgba_to_qimage(rgba)).shape == (7, 9, 4)
    gray = QImage(5, 4, QImage.Format.Format_Grayscale8)
    gray.fill(QColor(77, 77, 77))
    arr = qimage_to_array(gray)
    assert arr.shape == (4, 5) and arr.dtype == np.uint8 and (arr == 77).all()


def test_digit_keys_zoom_and_letters_pick_the_mode(view, qtbot):
    view.set_images(_image(100, 50), _image(200, 100))
    for key, zoom in ((Qt.Key.Key_2, 2.0), (Qt.Key.Key_4, 4.0), (Qt.Key.Key_1, 1.0)):
        qtbot.keyClick(view, key)
        assert view.zoom() == pytest.approx(zoom)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.zoom() == pytest.approx(min(800 / 200, 400 / 100))  # fit
    for key, mode in ((Qt.Key.Key_B, "before"), (Qt.Key.Key_A, "after"), (Qt.Key.Key_S, "split")):
        qtbot.keyClick(view, key)
        assert view.mode() == mode
    assert "Space" in view.toolTip()


def test_both_panes_switch_sampling_at_200_percent(view):
    view.set_images(_image(100, 50), _image(200, 100))
    view.zoom_to(1.99)
    assert view.smooth_sampling()
    view.zoom_to(2.0)
    assert not view.smooth_sampling()


def test_placeholder_text_when_there_is_no_image(view):
    view.set_images(None, None)
    view.set_placeholder("bad.jpg: not a readable image")
    assert view.placeholder().startswith("bad.jpg")
    img = view.grab().toImage()
    bg = img.pixel(2, 2)
    assert any(img.pixel(x, view.height() // 2) != bg for x in range(0, view.width(), 2))  # the text is drawn
