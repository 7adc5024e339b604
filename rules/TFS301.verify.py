"""TFS301: a custom layer or model without get_config() whose arguments Keras cannot record
(claims C07, C19).

Facts: ``class``, ``call_args`` (the arguments seen where the class is built; "" for its
defaults) and ``source`` (the class and the imports it needs).  The object is built, its
get_config() is asked for (NotImplementedError is the finding), then it goes through
from_config() and a ``.keras`` save and load in workdir; the arguments it kept as attributes
and the configs of its sublayers are compared with the original's.
"""

import inspect

import keras

PLAIN = (bool, int, float, str, type(None))
# What the rule says Keras raises: get_config() or save() of arguments it cannot record (Keras 3
# "Object X was created by...", Keras 2 "Layer X ..."), a Keras 3 Model reloaded with its defaults
# whose weights no longer fit, and a Keras 2 Model whose empty config lacks its arguments.
CLAIMED = ("was created by passing non-serializable argument", "objects could not be loaded",
           "Unable to revive model from config")


def first_sentence(exc):
    """The exception's type and first sentence (Keras wraps its messages over several lines)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text.split('. ')[0][:200]}" if text else type(exc).__name__


def claimed(exc):
    text = " ".join(str(exc).split())  # Keras wraps its messages over several lines
    return any(words in text for words in CLAIMED)


def state(obj):
    """What the constructor arguments became: plain attributes named like them, sublayer configs."""
    params = inspect.signature(type(obj).__init__).parameters
    found = {}
    for name, value in vars(obj).items():
        if name in params and isinstance(value, PLAIN + (list, tuple)):
            found[name] = list(value) if isinstance(value, tuple) else value
        elif isinstance(value, keras.layers.Layer) and not name.startswith("_"):
            found[name] = {k: v for k, v in value.get_config().items() if k != "name"}
    return found


def differences(before, after, prefix=""):
    found = []
    for key in sorted(before):
        old, new = before[key], after.get(key, "<missing>")
        if isinstance(old, dict) and isinstance(new, dict):
            found += differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append(f"{prefix}{key}: {old!r} -> {new!r}")
    return found


def check(facts, workdir):
    name = facts.get("class", "")
    try:
        namespace = user_code(facts)
        namespace[name]  # a KeyError: the definitions do not hold the class
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"the user's definitions could not be run: {first_sentence(exc)}"}
    try:
        obj = construct(namespace, name, facts.get("call_args", ""))
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{name}({facts.get('call_args', '')}) could not be built: "
                                                      f"{first_sentence(exc)}"}
    try:
        config = obj.get_config()
    except Exception as exc:
        return {"status": "confirmed" if claimed(exc) else "inconclusive",
                "evidence": f"{name}.get_config(): {first_sentence(exc)}"}
    before = state(obj)
    try:
        rebuilt = type(obj).from_config(config)
    except Exception as exc:
        return {"status": "confirmed" if claimed(exc) else "inconclusive",
                "evidence": f"{name}.from_config(get_config()) failed: {first_sentence(exc)}"}
    changed = differences(before, state(rebuilt))
    if changed:
        return {"status": "confirmed", "evidence": f"{name}({facts.get('call_args', '')}) through "
                                                   f"get_config()/from_config(): {'; '.join(changed)}"}
    try:
        loaded = keras_round_trip(obj, namespace, workdir)
    except Exception as exc:
        return {"status": "confirmed" if claimed(exc) else "inconclusive",
                "evidence": f".keras save/load failed: {first_sentence(exc)}"}
    changed = differences(before, state(loaded))
    if changed:
        return {"status": "confirmed", "evidence": f".keras reload changed {'; '.join(changed)}"}
    return {"status": "not reproduced",
            "evidence": f"{name}({facts.get('call_args', '')}) kept its arguments and sublayers through "
                        f"get_config()/from_config() and a .keras save/load"}
