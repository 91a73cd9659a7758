"""relabel: labels replaced by synonyms ("Export..." -> "Save as..."); the instruction keeps the
original words, so a policy must know what the new label means."""

from __future__ import annotations

from act.envs.synthui.perturb import SynthUIPerturbation

# Synonyms for labels any app may show; tasks give their own items more through Item.synonyms.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "OK": ("Okay", "Done", "Confirm"),
    "Cancel": ("Dismiss", "Abort"),
    "Yes": ("Confirm", "Proceed"),
    "No": ("Back", "Go back"),
    "Close": ("Exit", "Hide"),
    "Later": ("Not now", "Skip"),
    "Apply": ("Save changes", "Commit"),
    "Save": ("Store", "Keep"),
    "Open": ("Load", "Launch"),
    "Export...": ("Export as...", "Save as...", "Export file..."),
    "Export": ("Save", "Export now"),
    "Search": ("Find", "Go", "Look up"),
    "Log in": ("Sign in", "Continue", "Enter"),
    "File": ("Files",),
    "Edit": ("Modify",),
    "View": ("Show",),
    "Help": ("Info", "Support"),
    "Tools": ("Extras",),
    "Username": ("User name", "Login", "User"),
    "Password": ("Passcode", "Secret"),
}


class Family(SynthUIPerturbation):
    name = "relabel"
    order = 30

    def edit_spec(self, spec) -> None:
        s, rng = self.severity, self.rng
        used = spec.labels()
        changed: dict[str, str] = {}

        def swap(label: str, own: tuple[str, ...]) -> str:
            options = [o for o in (own or SYNONYMS.get(label, ())) if o not in used]
            if not options or rng.random() >= s:
                return label
            new = str(rng.choice(options))
            used.add(new)
            changed[label] = new
            return new

        for item in spec.items():
            if item.label and item.role != "list":
                item.label = swap(item.label, item.synonyms)
        for menu in spec.menus:
            menu.label = swap(menu.label, menu.synonyms)
        self.params = {"changed": changed}
