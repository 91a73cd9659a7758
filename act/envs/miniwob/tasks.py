"""The MiniWoB++ tasks act ships DOM experts for, their step limits and the expert's intent labels."""

from __future__ import annotations

# Intent labels (a small fixed set; three are shared with synthui's experts).
CLICK_BUTTON = "click the named button"
CLICK_LINK = "click the named link"
CLOSE_DIALOG = "close the dialog"
OPEN_TAB = "open the named tab"
FOCUS = "focus the text field"
TYPE = "type the text"
ERASE = "erase wrong text"
NEXT_FIELD = "move to the next field"
TICK = "tick a checkbox"
SUBMIT = "submit the form"
DISMISS = "dismiss the pop-up"
WAIT = "wait for the screen to update"
INTENTS = (
    CLICK_BUTTON,
    CLICK_LINK,
    CLOSE_DIALOG,
    OPEN_TAB,
    FOCUS,
    TYPE,
    ERASE,
    NEXT_FIELD,
    TICK,
    SUBMIT,
    DISMISS,
    WAIT,
)

# task -> step limit (room for the expert's longest episode plus pop-ups and corrections).
TASKS: dict[str, int] = {
    "click-button": 10,
    "click-link": 10,
    "click-dialog": 10,
    "click-tab": 10,
    "focus-text": 10,
    "enter-text": 30,
    "login-user": 40,
    "click-checkboxes": 25,
    # MiniWoB++'s own robustness tasks
    "click-checkboxes-transfer": 25,
    "login-user-popup": 45,
    "multi-layouts": 60,
    "multi-orderings": 60,
}
ROBUSTNESS_TASKS = ("click-checkboxes-transfer", "login-user-popup", "multi-layouts", "multi-orderings")
DEFAULT_MAX_STEPS = 30


def task_max_steps(task: str) -> int:
    return TASKS.get(task, DEFAULT_MAX_STEPS)


def env_id(task: str) -> str:
    """'click-button' -> 'act-miniwob/click-button-v0'."""
    return f"act-miniwob/{task}-v0"
