"""TFS303: get_config() without super().get_config() loses name, dtype and trainable (claim C08).

Facts: ``class``, ``call_args`` ("" for defaults) and ``source``.  The object is built with
name="tflint_probe", dtype="float64" and trainable=False on top of the call arguments, then
rebuilt with from_config(get_config()) and saved and loaded as ``.keras`` in workdir; the three
are compared.
"""

PROBE = {"name": "tflint_probe", "dtype": "float64", "trainable": False}



def base_state(layer):
    return {"name": layer.name, "dtype": layer.dtype, "trainable": layer.trainable}


def check(facts, workdir):
    name = facts.get("class", "")
    call_args = facts.get("call_args", "")
    try:
        namespace = user_code(facts)
        cls = namespace[name]
        obj = construct(namespace, name, call_args, ", ".join(f"{k}={v!r}" for k, v in PROBE.items()))
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{name} could not be built with {PROBE}: {in_brief(exc)}"}
    before = base_state(obj)
    if before != PROBE:
        return {"status": "inconclusive", "evidence": f"{name} does not keep name/dtype/trainable given at "
                                                      f"construction ({before}), see TFS304"}
    try:
        rebuilt = base_state(cls.from_config(obj.get_config()))
        reloaded = base_state(keras_round_trip(obj, namespace, workdir))
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"the round trip failed for another reason: {in_brief(exc)}"}
    lost = [f"{k} {before[k]!r} -> {rebuilt[k]!r} (from_config), {reloaded[k]!r} (.keras)"
            for k in PROBE if rebuilt[k] != before[k] or reloaded[k] != before[k]]
    if lost:
        return {"status": "confirmed", "evidence": "; ".join(lost)}
    return {"status": "not reproduced",
            "evidence": "name, dtype and trainable=False came back through get_config()/from_config() and .keras"}
