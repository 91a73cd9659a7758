"""ACT policy: configuration, CVAE transformer with UI action heads, temporal ensembling, save/load.

``select_action`` is the call that ensembles (when ``temporal_ensemble_coeff`` is set);
``predict_chunk`` / ``predict_chunk_batch`` never do.
"""

from act.policy.backbones import ConvNet, ResNet18, build_backbone, sine_position_1d, sine_position_2d
from act.policy.configuration_act import ACTConfig
from act.policy.ensemble import TemporalEnsembler, ensemble_offline, ensemble_weights
from act.policy.errors import ConfigError, PolicyLoadError, PolicyNotFoundError
from act.policy.explain import Explanation, describe_steps
from act.policy.modeling_act import ACT, ACTPolicy, WeightsFormatError

__all__ = [
    "ACT",
    "ACTConfig",
    "ACTPolicy",
    "ConfigError",
    "ConvNet",
    "Explanation",
    "PolicyLoadError",
    "PolicyNotFoundError",
    "ResNet18",
    "TemporalEnsembler",
    "WeightsFormatError",
    "build_backbone",
    "describe_steps",
    "ensemble_offline",
    "ensemble_weights",
    "sine_position_1d",
    "sine_position_2d",
]
