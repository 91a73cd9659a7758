"""The contract every part shares: the action space and the key and instruction vocabularies.

Envs, data and policy import it; it imports nothing of ``act`` but the recording format's action kinds.
"""

from act.spaces.action_space import FIELDS, KIND_ID, POINTER_KIND_IDS, ActionError, ActionSpace
from act.spaces.copy import copy_targets, typed_counts
from act.spaces.image import resize_frame
from act.spaces.vocab import PAD, UNK, Vocabulary, decode_bytes, encode_bytes, tokenize

__all__ = [
    "FIELDS",
    "KIND_ID",
    "PAD",
    "POINTER_KIND_IDS",
    "UNK",
    "ActionError",
    "ActionSpace",
    "Vocabulary",
    "copy_targets",
    "typed_counts",
    "decode_bytes",
    "encode_bytes",
    "resize_frame",
    "tokenize",
]
