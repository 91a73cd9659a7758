"""Login: fill in the username and password, then log in (Enter or the button). Submitting wrong
credentials ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, close_menu, pick, random_word

NAMES = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "oscar",
    "peggy",
    "trent",
    "victor",
    "wendy",
    "zoe",
)
TEST_NAMES = (
    "mallory",
    "nina",
    "olga",
    "pavel",
    "quinn",
    "rupert",
    "sybil",
    "tara",
    "uma",
    "walter",
    "yusuf",
)
# Passwords: letters and one digit. Train passwords are lower case, test passwords upper case, so
# no test password is a train password; random ones mix both.
PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz"
TEST_PASSWORD_LETTERS = PASSWORD_LETTERS.upper()
HEADERS = ("Sign in to continue", "Welcome back", "Members area")
TEMPLATES = (
    "Log in as {u} with password {p}.",
    "Sign in with username {u} and password {p}.",
    'Log in. Username: "{u}", password: "{p}".',
    "Use {u} / {p} to log in.",
    "Enter the username {u} and the password {p}, then log in.",
)
USER_I = {
    "focus": "click the username field",
    "type_": "type the username",
    "clear": "clear the username field",
}
PASS_I = {
    "focus": "click the password field",
    "type_": "type the password",
    "clear": "clear the password field",
}
SUBMIT = "submit the login form"


def username(rng, split: str = "train") -> str:
    name = (
        random_word(rng, 3, 7) if split == "random" else pick(rng, TEST_NAMES if split == "test" else NAMES)
    )
    r = rng.random()
    return (
        name + str(int(rng.integers(10, 100)))
        if r < 0.5
        else (name + "_" + pick(rng, "kmxq") if r < 0.7 else name)
    )


def password(rng, split: str = "train") -> str:
    chars = {"train": PASSWORD_LETTERS, "test": TEST_PASSWORD_LETTERS}.get(
        split, PASSWORD_LETTERS + TEST_PASSWORD_LETTERS
    )
    n = int(rng.integers(5, 9))
    body = "".join(pick(rng, chars) for _ in range(n - 1))
    k = int(rng.integers(0, n))
    return body[:k] + str(int(rng.integers(0, 10))) + body[k:]


class Login(Task):
    name = "Login"
    types_text = True
    max_steps = 100
    intents = (*USER_I.values(), *PASS_I.values(), SUBMIT, "fix a typo", "move to the next field")
    text_lists = {"names": (NAMES, TEST_NAMES), "password letters": (PASSWORD_LETTERS, TEST_PASSWORD_LETTERS)}

    def build(self, rng):
        self.user, self.password = username(rng, self.text_split), password(rng, self.text_split)
        old = username(rng, self.text_split) if rng.random() < 0.25 else ""
        rows = [
            Row(
                [
                    Item("label", "lbl:user", "Username", props={"form": True}),
                    Item("textbox", "user", props={"text": old if old != self.user else ""}),
                ],
                shuffle=False,
            ),
            Row(
                [
                    Item("label", "lbl:pass", "Password", props={"form": True}),
                    Item("textbox", "pass", props={"password": True}),
                ],
                shuffle=False,
            ),
        ]
        extra = pick(rng, ("header", "remember", None))
        if extra == "header":
            rows.insert(
                0, Row([Item("label", "header", pick(rng, HEADERS), props={"bold": True})], movable=False)
            )
        elif extra == "remember":
            rows.append(Row([Item("checkbox", "remember", "Remember me")]))
        buttons = [Item("button", "login", "Log in", props={"default": True})]
        if rng.random() < 0.5:
            buttons.append(Item("button", "cancel", "Cancel"))
        pool = [Item("button", "forgot", "Forgot?"), Item("button", "signup", "Sign up")]
        rows.append(Row(buttons, align=pick(rng, ("left", "right")), pool=pool, max_extra=1))
        decoy = Row([Item("label", "ad", "Tip: use a strong password", props={"muted": True})])
        spec = AppSpec(pick(rng, ("Sign in", "Login", "Account", "Welcome")), Panel(rows, pool=[decoy]))
        return spec, pick(rng, TEMPLATES).format(u=self.user, p=self.password)

    def is_commit(self, cmd):
        return (cmd.kind == "submit" and cmd.key in ("user", "pass")) or (
            cmd.kind == "button" and cmd.key == "login"
        )

    def text_targets(self):
        return {"user": self.user, "pass": self.password}

    def on_command(self, cmd, ui):
        if self.is_commit(cmd):
            ok = (
                ui.widget("user").state["text"] == self.user
                and ui.widget("pass").state["text"] == self.password
            )
            return SUCCESS if ok else FAILURE
        if cmd.kind == "button" and cmd.key == "cancel":
            for key in ("user", "pass"):
                ui.widget(key).state.update(text="", select_all=False)
            ui.changed()
        return None

    def expert_step(self, ctx):
        if (a := close_menu(ctx)) is not None:
            return a
        order = ctx.choose("order", (("user", "pass"), ("pass", "user")), (0.75, 0.25))
        tab = ctx.choose("tab", (True, False))
        for key in order:
            target, labels = (self.user, USER_I) if key == "user" else (self.password, PASS_I)
            if ctx.state(key)["text"] != target:
                return ctx.fill(key, target, **labels, via_tab=tab)
        if ctx.choose("submit", ("enter", "button")) == "enter" and ctx.info["focus"] in ("user", "pass"):
            return ctx.key("enter", SUBMIT)
        return ctx.click("login", SUBMIT)
