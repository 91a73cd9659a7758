"""SearchSubmit: type the query into the search field and submit it (Enter or the Search button).
Submitting anything else ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, close_menu, pick, random_word
from act.envs.synthui.tasks.menu_item import menus

ADJECTIVES = (
    "red",
    "blue",
    "green",
    "black",
    "white",
    "small",
    "large",
    "wooden",
    "leather",
    "cotton",
    "steel",
)
NOUNS = (
    "shoes",
    "chair",
    "cable",
    "mug",
    "jacket",
    "lamp",
    "mat",
    "bike",
    "kettle",
    "case",
    "desk",
    "bag",
    "watch",
    "hat",
    "scarf",
    "table",
    "sofa",
    "pen",
    "clock",
    "tent",
)
# The test split's words: none of them is a train word.
TEST_ADJECTIVES = ("yellow", "purple", "silver", "tiny", "heavy", "woolen", "glass", "plastic")
TEST_NOUNS = ("boots", "stool", "charger", "cup", "coat", "candle", "rug", "scooter", "teapot", "box", "sink")
HEADERS = ("Find products", "Search the catalog", "Store search", "Library")
TEMPLATES = (
    'Search for "{q}".',
    "Find {q}.",
    "Look up {q} using the search box.",
    "Search the catalog for {q}.",
    'Type "{q}" into the search field and submit.',
    "Search {q}.",
)
FOCUS, CLEAR, TYPE, SUBMIT = (
    "click the search field",
    "clear the search field",
    "type the search query",
    "submit the search",
)


def query(rng, split: str = "train") -> str:
    """An adjective and a noun, or a noun, from the split's lists (random words for "random")."""
    if split == "random":
        return " ".join(random_word(rng) for _ in range(1 + int(rng.random() < 0.6)))
    adjectives, nouns = (TEST_ADJECTIVES, TEST_NOUNS) if split == "test" else (ADJECTIVES, NOUNS)
    noun = pick(rng, nouns)
    return f"{pick(rng, adjectives)} {noun}" if rng.random() < 0.6 else noun


class SearchSubmit(Task):
    name = "SearchSubmit"
    types_text = True
    max_steps = 80
    intents = (FOCUS, CLEAR, TYPE, SUBMIT, "fix a typo")
    text_lists = {"adjectives": (ADJECTIVES, TEST_ADJECTIVES), "nouns": (NOUNS, TEST_NOUNS)}

    def build(self, rng):
        self.query = query(rng, self.text_split)
        old = query(rng, self.text_split) if rng.random() < 0.35 else ""
        field = Item(
            "textbox", "search", props={"placeholder": "Search...", "text": old if old != self.query else ""}
        )
        button = Item("button", "search:go", "Search")
        rows = [
            Row(
                [field, button],
                wide=True,
                pool=[Item("button", "search:clear", "Clear"), Item("button", "search:adv", "Advanced")],
                max_extra=1,
            )
        ]
        extras = ["header", "filters", "recent"]
        rng.shuffle(extras)
        extras = extras[: int(rng.integers(0, 3))]
        if "header" in extras:
            rows.insert(
                0, Row([Item("label", "header", pick(rng, HEADERS), props={"bold": True})], movable=False)
            )
        if "filters" in extras:
            rows.append(Row([Item("checkbox", "f:stock", "In stock"), Item("checkbox", "f:sale", "On sale")]))
        if "recent" in extras and "filters" not in extras:
            recent = [query(rng, self.text_split) for _ in range(4)]
            rows.append(Row([Item("list", "recent", props={"items": recent, "rows": 2})], wide=True))
        decoy = Row([Item("label", "ad", "Sponsored: free delivery", props={"muted": True})])
        spec = AppSpec(pick(rng, ("Shop", "Catalog", "Search", "Store")), Panel(rows, pool=[decoy]))
        if rng.random() < 0.5:
            spec.menus = menus(rng)
        return spec, pick(rng, TEMPLATES).format(q=self.query)

    def text_targets(self):
        return {"search": self.query}

    def is_commit(self, cmd):
        return (cmd.kind == "submit" and cmd.key == "search") or (
            cmd.kind == "button" and cmd.key == "search:go"
        )

    def on_command(self, cmd, ui):
        if self.is_commit(cmd):
            text = ui.widget("search").state["text"]
            return SUCCESS if text.strip().lower() == self.query else FAILURE
        return None

    def expert_step(self, ctx):
        if (a := close_menu(ctx)) is not None:
            return a
        if (a := ctx.fill("search", self.query, focus=FOCUS, type_=TYPE, clear=CLEAR)) is not None:
            return a
        if ctx.choose("submit", ("enter", "button")) == "enter":
            return ctx.key("enter", SUBMIT)
        return ctx.click("search:go", SUBMIT)
