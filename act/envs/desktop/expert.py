"""Scripted experts for the desktop tasks: closed-loop, one action per step, from the element snapshot.

An expert reads ``info`` (the app's elements with their screen boxes, the focus and the task
state with its goal) and returns one ``Action`` in window pixels: click the centre of an element,
or press one key. It acts from whatever state it is given (a wrong tab open, text already in a
field, the menu closed again), so it also labels states it did not reach itself. The env turns the
action into real input events (xdotool).
"""

from __future__ import annotations

from typing import Any

from act.recording.schema import Action


class DesktopExpert:
    """``act(obs, info) -> Action`` for a ``DesktopEnv``; each action carries its intent label."""

    def __init__(self, env: Any):
        self.env = env.unwrapped

    def reset(self, seed: int) -> None:  # deterministic: nothing to draw per episode
        pass

    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> Action:
        ctx = _Ctx(info)
        plan = getattr(self, f"_{info['task']}")
        return plan(ctx, info["state"])

    # ---- tasks -----------------------------------------------------------------------------------

    def _login(self, ctx: _Ctx, state: dict[str, Any]) -> Action:
        goal, values = state["goal"], state["values"]
        for field in ("username", "password"):
            if values[field] != goal[field]:
                return ctx.fill(field, values[field], goal[field])
        return ctx.click("sign_in", "submit the form")

    def _settings(self, ctx: _Ctx, state: dict[str, Any]) -> Action:
        goal = state["goal"]
        for cid, on in goal["checks"].items():
            if state["checks"][cid] != on:
                if state["tab"] != goal["tab"]:
                    return ctx.click(f"tab:{goal['tab']}", "open the tab")
                return ctx.click(f"check:{cid}", "set the option")
        return ctx.click("apply", "apply the settings")

    def _search(self, ctx: _Ctx, state: dict[str, Any]) -> Action:
        goal, query = state["goal"], state["values"]["query"]
        if query != goal["query"]:
            return ctx.fill("query", query, goal["query"])
        if state["searched"] != query:
            return ctx.click("search", "run the search")
        if state["selected"] != goal["item"]:
            return ctx.click(f"result:{goal['item']}", "choose the result")
        return ctx.click("submit", "submit the result")

    def _export(self, ctx: _Ctx, state: dict[str, Any]) -> Action:
        goal = state["goal"]
        if not state["dialog"]:
            if "menu:file:export" in ctx.elements:
                return ctx.click("menu:file:export", "choose Export")
            return ctx.click("menu:file", "open the File menu")
        name = state["values"]["filename"]
        if name != goal["filename"]:
            return ctx.fill("filename", name, goal["filename"])
        return ctx.click("save", "save the file")


class _Ctx:
    """Helpers over one snapshot: element boxes in window pixels, clicks and text editing."""

    def __init__(self, info: dict[str, Any]):
        self.info = info
        self.elements = {e["id"]: e for e in info["elements"]}
        self.x0, self.y0 = info["window"][:2]

    def box(self, eid: str) -> tuple[float, float, float, float]:
        if eid not in self.elements:
            raise LookupError(f"the app shows no element {eid!r}; it shows {sorted(self.elements)}")
        x0, y0, x1, y1 = self.elements[eid]["box"]
        return (x0 - self.x0, y0 - self.y0, x1 - self.x0, y1 - self.y0)

    def click(self, eid: str, intent: str) -> Action:
        box = self.box(eid)
        return Action("click", x=(box[0] + box[2]) / 2, y=(box[1] + box[3]) / 2, intent=intent, target=box)

    def fill(self, eid: str, value: str, want: str) -> Action:
        """The next step of making text field ``eid`` hold ``want`` (it holds ``value``)."""
        intent = f"type into {self.elements.get(eid, {}).get('label', eid)}"
        if self.info["focus"] != eid:
            return self.click(eid, intent)
        cursor = self.elements[eid].get("cursor", len(value))
        if cursor != len(value):
            return Action("key", key="end", intent=intent)
        if want.startswith(value):
            return Action("key", key=want[len(value)], intent=intent)
        return Action("key", key="backspace", intent=intent)
