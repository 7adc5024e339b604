"""TFS302: get_config() leaves out an __init__ argument, which reloads as its default (claim C07).

Facts: ``class``, ``call_args`` ("" for defaults), ``missing`` (the argument names the rule
found missing from get_config(); without it, the __init__ arguments the config lacks) and
``source``.  An omitted argument is given a value other
than its default when the call arguments do not set it (3.0 for 1.0, 16 for 8, the other
bool), the object is built, and its get_config() goes through from_config() and a ``.keras``
save and load in workdir; the attribute holding each argument is compared.
"""

import inspect
import re

# What the rule says loading raises: a forgotten required argument (TypeError: __init__() missing
# 1 required positional argument), a forgotten shape argument whose weights no longer fit (Keras 3
# "A total of 1 objects could not be loaded", Keras 2 "... Shape mismatch ...").
CLAIMED = re.compile(r"missing \d+ required|objects could not be loaded|Shape mismatch")


def other_value(default):
    """A value unlike the default, of its type; None when there is none worth guessing."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default * 2 if default else 3
    if isinstance(default, float):
        return default * 3 if default else 0.5
    return None


def arguments(cls, facts, namespace, missing):
    args, kwargs = call_arguments(facts.get("call_args", ""))
    bound = inspect.signature(cls.__init__).bind_partial(None, *args, **kwargs).arguments
    chosen = {}
    for name in missing:
        param = inspect.signature(cls.__init__).parameters.get(name)
        if name in bound or param is None or param.default is inspect.Parameter.empty:
            continue
        value = other_value(param.default)
        if value is not None:
            kwargs[name] = chosen[name] = value
    return args, kwargs, chosen


def held(obj, name, value):
    """The attribute the argument went to: the one named like it, else one holding its value."""
    if name in vars(obj):
        return name
    return next((k for k, v in vars(obj).items() if not k.startswith("_") and v is value), None)


def check(facts, workdir):
    name = facts.get("class", "")
    try:
        namespace = user_code(facts)
        cls = namespace[name]
        params = inspect.signature(cls.__init__).parameters
        missing = facts.get("missing") or [
            p for p in list(params)[1:] if params[p].kind not in (params[p].VAR_POSITIONAL, params[p].VAR_KEYWORD)
        ]
        args, kwargs, chosen = arguments(cls, facts, namespace, missing)
        obj = cls(*args, **kwargs)
        config = obj.get_config()
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{name} could not be built: {in_brief(exc)}"}
    missing = [m for m in missing if m not in config]
    given = dict(vars(obj))
    try:
        rebuilt = cls.from_config(config)
    except Exception as exc:
        return {"status": "confirmed" if CLAIMED.search(" ".join(str(exc).split())) else "inconclusive",
                "evidence": f"{name}.from_config(get_config()) failed: {in_brief(exc)}"}
    try:
        loaded = keras_round_trip(obj, namespace, workdir)
    except Exception as exc:
        return {"status": "confirmed" if CLAIMED.search(" ".join(str(exc).split())) else "inconclusive",
                "evidence": f".keras save/load failed: {in_brief(exc)}"}
    lost, kept, unknown = [], [], []
    for argument in missing:
        attribute = held(obj, argument, kwargs.get(argument, getattr(params.get(argument), "default", None)))
        if attribute is None:
            unknown.append(argument)
            continue
        before, after, reloaded = given[attribute], getattr(rebuilt, attribute, None), getattr(loaded, attribute, None)
        if after != before or reloaded != before:
            note = " (set by this check)" if argument in chosen else ""
            lost.append(f"{argument}: built with {before!r}{note}, from_config() gave {after!r}, "
                        f".keras reload gave {reloaded!r}")
        else:
            kept.append(argument)
    if lost:
        return {"status": "confirmed", "evidence": "; ".join(lost) + f" (config keys: {', '.join(config)})"}
    if not missing:
        return {"status": "not reproduced", "evidence": f"get_config() of {name} holds every __init__ argument"}
    if unknown or not kept:
        return {"status": "inconclusive",
                "evidence": f"no attribute of {name} holds {', '.join(unknown)}, so a lost value cannot be seen"}
    return {"status": "not reproduced",
            "evidence": f"{', '.join(f'{k}={given[k]!r}' for k in kept if k in given)} came back through "
                        f"get_config()/from_config() and .keras"}
