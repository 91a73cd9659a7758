"""Raw input events -> semantic actions."""

from act.recording import Event, Screen, merge_events
from act.recording.events import MergeConfig

SCREEN = Screen(200, 100)


def ev(t, type, **kw):
    return Event(t=t, type=type, **kw)


def kinds(actions):
    return [a.kind for a in actions]


def test_click_and_double_click():
    events = [
        ev(0.0, "mouse_down", x=10, y=10, button="left"),
        ev(0.05, "mouse_up", x=10, y=10, button="left"),
        ev(0.2, "mouse_down", x=11, y=10, button="left"),
        ev(0.25, "mouse_up", x=11, y=10, button="left"),
        ev(2.0, "mouse_down", x=50, y=50, button="left"),
        ev(2.05, "mouse_up", x=50, y=50, button="left"),
    ]
    actions = merge_events(events, SCREEN)
    assert kinds(actions) == ["double_click", "wait", "click"]
    assert (actions[0].x, actions[0].y) == (10, 10)
    assert actions[1].duration == 2.0 - 0.25


def test_two_clicks_too_slow_or_too_far_are_not_a_double_click():
    slow = [ev(0, "click", x=10, y=10), ev(0.5, "click", x=10, y=10)]
    far = [ev(0, "click", x=10, y=10), ev(0.1, "click", x=30, y=10)]
    assert kinds(merge_events(slow, SCREEN)) == ["click", "click"]
    assert kinds(merge_events(far, SCREEN)) == ["click", "click"]
    cfg = MergeConfig(double_click_time=0.6)
    assert kinds(merge_events(slow, SCREEN, cfg)) == ["double_click"]


def test_drag_keeps_start_end_and_path():
    events = [
        ev(0.0, "mouse_down", x=10, y=10, button="left"),
        ev(0.1, "mouse_move", x=30, y=12),
        ev(0.2, "mouse_move", x=60, y=15),
        ev(0.3, "mouse_up", x=60, y=15, button="left"),
    ]
    (a,) = merge_events(events, SCREEN)
    assert a.kind == "drag" and (a.x, a.y, a.x2, a.y2) == (10, 10, 60, 15)
    assert a.path == ((10, 10), (30, 12), (60, 15), (60, 15))


def test_small_jitter_is_a_click_and_right_button_is_right_click():
    events = [
        ev(0.0, "mouse_down", x=10, y=10, button="right"),
        ev(0.1, "mouse_move", x=12, y=11),
        ev(0.2, "mouse_up", x=12, y=11, button="right"),
    ]
    (a,) = merge_events(events, SCREEN)
    assert a.kind == "right_click" and (a.x, a.y) == (10, 10)


def test_modifier_chords_and_typed_text():
    events = [
        ev(0.0, "key_down", key="ctrl_l"),
        ev(0.01, "key_down", key="s"),
        ev(0.02, "key_up", key="s"),
        ev(0.03, "key_up", key="ctrl_l"),
        ev(0.1, "key_down", key="shift"),
        ev(0.11, "key_down", key="H"),
        ev(0.12, "key_up", key="H"),
        ev(0.13, "key_up", key="shift"),
        ev(0.2, "key_down", key="i"),
        ev(0.3, "key_down", key="Return"),
        ev(0.4, "type", text="a b\n"),
        ev(0.5, "key_down", key="ctrl"),
        ev(0.51, "key_down", key="shift"),
        ev(0.52, "key_down", key="\x13"),
    ]
    keys = [a.key for a in merge_events(events, SCREEN)]
    assert keys == ["ctrl+s", "H", "i", "enter", "a", " ", "b", "enter", "ctrl+shift+s"]


def test_hidpi_physical_coordinates_become_logical():
    screen = Screen(200, 100, scale=2.0, event_coords="physical")
    events = [
        ev(0.0, "mouse_down", x=100, y=60, button="left"),
        ev(0.05, "mouse_up", x=104, y=60, button="left"),
    ]
    (a,) = merge_events(events, screen)
    assert a.kind == "click" and (a.x, a.y) == (50, 30)  # 4 physical px = 2 logical: still a click
    drag = [
        ev(0.0, "mouse_down", x=100, y=60, button="left"),
        ev(0.05, "mouse_up", x=120, y=60, button="left"),
    ]
    assert merge_events(drag, screen)[0].kind == "drag"  # 20 physical = 10 logical > 5


def test_events_outside_the_screen_are_clamped_to_its_edge():
    actions = merge_events([ev(0, "click", x=-5, y=30), ev(1, "click", x=500, y=500)], SCREEN)
    assert [(a.x, a.y) for a in actions] == [(0, 30), (200, 100)]


def test_out_of_order_timestamps_are_sorted_before_merging():
    events = [
        ev(0.05, "mouse_up", x=10, y=10, button="left"),
        ev(0.0, "mouse_down", x=10, y=10, button="left"),
    ]
    (a,) = merge_events(events, SCREEN)
    assert a.kind == "click" and a.t == 0.0


def test_scroll_aggregation():
    events = [
        ev(0.0, "scroll", x=50, y=50, dy=-1),
        ev(0.1, "scroll", x=50, y=50, dy=-1),
        ev(0.2, "scroll", x=51, y=50, dy=-2),
        ev(0.9, "scroll", x=50, y=50, dy=1),
    ]
    actions = merge_events(events, SCREEN)
    assert [(a.kind, a.dy) for a in actions] == [("scroll", -4), ("scroll", 1)]
