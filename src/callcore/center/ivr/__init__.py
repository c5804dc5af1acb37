"""IVR: composable nodes, an async flow runner over :class:`CallPort`, YAML/TOML loading."""

from .flow import Flow, FlowContext, FlowError, FlowResult, FlowRunner
from .loader import FlowLoadError, flow_from_dict, load_flow, load_flow_text
from .nodes import (
    NODE_TYPES,
    Branch,
    Collect,
    Hangup,
    Hours,
    Lookup,
    Menu,
    Node,
    Prompt,
    Transfer,
    Voicemail,
)
from .port import CallPort, ScriptedCall

__all__ = [
    "NODE_TYPES",
    "Branch",
    "CallPort",
    "Collect",
    "Flow",
    "FlowContext",
    "FlowError",
    "FlowLoadError",
    "FlowResult",
    "FlowRunner",
    "Hangup",
    "Hours",
    "Lookup",
    "Menu",
    "Node",
    "Prompt",
    "ScriptedCall",
    "Transfer",
    "Voicemail",
    "flow_from_dict",
    "load_flow",
    "load_flow_text",
]
