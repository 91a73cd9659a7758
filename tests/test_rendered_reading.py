"""Reading by sight (``reading: rendered``): instruction spans, their pictures, the cells that show
them, and a policy that matches one against the other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from act.data.reading import OTHER_TEXT, cell_spans
from act.policy import ACTConfig, ACTPolicy
from act.policy.rendered_reading import span_batch, span_words_of
from act.spaces.action_space import KIND_ID
from act.spaces.spans import MAX_SPANS, SPAN_IMAGE, instruction_spans, render_span, span_words
from act.spaces.vocab import encode_bytes


def test_spans_are_whole_words_without_the_punctuation_around_them_and_name_their_bytes():
    text = 'Open "memo_26.png". Tick Wi-Fi, then press OK — café!'
    spans = instruction_spans(text)
    assert [w for _, _, w in spans] == ["Open", "memo_26.png", "Tick", "Wi-Fi", "then", "press", "OK", "café"]
    data = text.encode("utf-8")
    assert all(data[a:b].decode("utf-8") == w for a, b, w in spans)  # byte ranges, "é" is two bytes
    assert instruction_spans(text, max_bytes=18) == spans[:2]  # none past an instruction cut short
    assert len(instruction_spans(" ".join(["w"] * 40))) == MAX_SPANS


def test_rendered_spans_tell_words_apart_and_fit_their_image():
    save, vase, again = render_span("save"), render_span("vase"), render_span("save")
    assert save.shape == SPAN_IMAGE and save.dtype == np.float32 and save.min() >= 0 and save.max() <= 1
    assert np.array_equal(save, again) and not np.array_equal(save, vase)  # same letters, other order
    long = render_span("a_very_long_file_name_2023.xlsx")  # squeezed to the width, not cut
    assert long[:, -4:].max() > 0.3 and long[:, :4].max() > 0.3


def test_cells_show_the_span_their_label_spells_case_folded_and_whatever_the_vocabulary():
    elements = [
        {"role": "window", "name": "App", "bbox": (0, 0, 64, 32)},
        {"role": "button", "name": "OK", "bbox": (0, 0, 16, 16)},
        {"role": "button", "name": "Cancel", "bbox": (16, 0, 40, 16)},
        {"role": "listitem", "name": "zqx_07.pdf", "bbox": (0, 16, 40, 32)},
    ]
    text = "Open zqx_07.pdf, then click ok."
    assert span_words(text) == ["Open", "zqx_07.pdf", "then", "click", "ok"]
    cells = cell_spans(elements, 64, 32, (4, 8, 8), (32, 64), text).reshape(4, 8)
    assert (cells[:2, :2] == 5).all()  # "OK" on the button is the instruction's "ok"
    assert (cells[:2, 2:5] == OTHER_TEXT).all()  # "Cancel": text the instruction does not name
    assert (cells[2:, :5] == 2).all()  # a random file name, no vocabulary needed
    assert (cells[:, 5:] == 0).all()  # blank


def test_span_batch_draws_each_distinct_span_once_and_pools_and_pads_each_rows_spans():
    texts = ['Click "Send".', "Open memo_26.png and then press Open."]
    ids = torch.tensor([encode_bytes(t, 48) for t in texts])
    images, which, real, pool = span_batch(ids)
    assert real.tolist() == [[1, 1, 0, 0, 0, 0], [1] * 6]
    assert images.shape == (7, *SPAN_IMAGE)  # Click, Send, Open, memo_26.png, and, then, press
    assert which[1, 0] == which[1, 5] and torch.equal(
        images[which[0, 1]], torch.from_numpy(render_span("Send"))
    )
    start = texts[0].index("Send")
    assert torch.allclose(pool[0, 1, start : start + 4], torch.full((4,), 0.25)) and pool[0, 1].sum() == 1
    assert span_words_of(ids[1].tolist()) == ["Open", "memo_26.png", "and", "then", "press", "Open"]


def test_rendered_reading_needs_the_byte_encoding_and_a_reading_pointer():
    with pytest.raises(ValueError, match="reading: 'rendered' .* instruction_encoding='chars'"):
        ACTConfig(reading="rendered")
    with pytest.raises(ValueError, match="reading: 'glyphs' is not one of"):
        ACTConfig(reading="glyphs")
    with pytest.raises(ValueError, match="reading: 'rendered'"):
        ACTConfig(reading="rendered", instruction_encoding="chars", pointer_reads=False)


def test_a_rendered_reader_learns_from_span_targets_and_plans_after_a_reload(tmp_path):
    """Cells showing the sought span become that span (the read loss falls), the seek head names the
    instruction's span, and a reloaded policy plans exactly as the trained one."""
    from tests.test_typing import chars_config

    config = chars_config(image_size=(16, 32), key_copy=False, reading="rendered", chunk_size=1)
    rows, cols, _ = config.pointer_cells()
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    texts = ['Click "Send".', 'Click "Open".']
    batch = {
        "image": torch.zeros(2, 3, 16, 32, dtype=torch.uint8),
        "instruction": torch.zeros(2, 4, dtype=torch.long),
        "instruction_bytes": torch.tensor([encode_bytes(t) for t in texts]),
        "kind": torch.full((2, 1), KIND_ID["click"]),
        "point": torch.tensor([[[0.1, 0.2]], [[0.8, 0.2]]]),
        "point2": torch.zeros(2, 1, 2),
        "key": torch.zeros(2, 1, dtype=torch.long),
        "scroll": torch.zeros(2, 1, 2),
        "is_pad": torch.zeros(2, 1, dtype=torch.bool),
        "intent": torch.zeros(2, dtype=torch.long),
        "cell_spans": torch.zeros(2, rows * cols, dtype=torch.long),
    }
    batch["image"][0, :, :, :16] = 255  # each target has its own look; its cells show span 2
    batch["image"][1, :, :, 16:] = 255
    grid = batch["cell_spans"].view(2, rows, cols)
    grid[0, :, : cols // 2], grid[1, :, cols // 2 :] = 2, 2
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        loss, terms = policy(batch)
        first = first if first is not None else float(terms["loss_read"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(terms["loss_read"]) < 0.5 * first and float(terms["acc_seek"]) == 1.0
    policy.save_pretrained(tmp_path / "reader")
    loaded = ACTPolicy.from_pretrained(tmp_path / "reader")
    obs = {"screen": np.full((16, 32, 3), 255, np.uint8), "instruction": texts[0]}
    assert loaded.config.reading == "rendered"
    for a, b in zip(policy.predict_chunk(obs).values(), loaded.predict_chunk(obs).values()):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_the_read_loss_weighs_other_labels_apart_from_blank_cells():
    """Span cells, other labels and blank cells are three equal terms: a matcher that calls every
    label the sought span pays for it however few the other labels are."""
    import torch.nn.functional as F

    from tests.test_typing import chars_config

    config = chars_config(image_size=(16, 32), key_copy=False, reading="rendered", chunk_size=1)
    rows, cols, _ = config.pointer_cells()
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    spans = torch.zeros(1, rows * cols, dtype=torch.long)
    spans[0, :2], spans[0, 2] = 2, OTHER_TEXT  # two cells show the span, one another label
    batch = {
        "image": torch.randint(0, 255, (1, 3, 16, 32), dtype=torch.uint8),
        "instruction": torch.zeros(1, 4, dtype=torch.long),
        "instruction_bytes": torch.tensor([encode_bytes('Click "Send".')]),
        "kind": torch.full((1, 1), KIND_ID["wait"]),
        "point": torch.zeros(1, 1, 2),
        "point2": torch.zeros(1, 1, 2),
        "key": torch.zeros(1, 1, dtype=torch.long),
        "scroll": torch.zeros(1, 1, 2),
        "is_pad": torch.zeros(1, 1, dtype=torch.bool),
        "intent": torch.zeros(1, dtype=torch.long),
        "cell_spans": spans,
    }
    _, terms = policy(batch)
    with torch.no_grad():
        t = policy._targets(batch)
        out = policy.model(batch["image"], policy.instruction_input(batch), t.actions, ~t.valid)
    ce = F.cross_entropy(out["read_logits"][0], spans[0].clamp(min=0), reduction="none")  # (C,)
    expected = ce[:2].mean() + ce[2] + ce[3:].mean()
    assert torch.allclose(terms["loss_read"], expected, atol=1e-5)
