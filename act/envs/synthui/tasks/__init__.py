"""The synthui tasks, by name."""

from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task
from act.envs.synthui.tasks.click_button import ClickButton
from act.envs.synthui.tasks.export_report import ExportReport
from act.envs.synthui.tasks.login import Login
from act.envs.synthui.tasks.menu_item import MenuItem
from act.envs.synthui.tasks.scroll_open import ScrollOpen
from act.envs.synthui.tasks.search_submit import SearchSubmit
from act.envs.synthui.tasks.set_slider import SetSlider
from act.envs.synthui.tasks.tick_checkboxes import TickCheckboxes

TASKS: dict[str, type[Task]] = {
    t.name: t
    for t in (ClickButton, MenuItem, SearchSubmit, Login, TickCheckboxes, SetSlider, ScrollOpen, ExportReport)
}

__all__ = ["FAILURE", "SUCCESS", "TASKS", "Task"]
