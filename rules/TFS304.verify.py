"""TFS304: __init__ without **kwargs (loading fails) or not passing them on (dropped) (claim C08).

Facts: ``class``, ``call_args`` ("" for defaults) and ``source``.  The object is built and its
own config is fed back: from_config(get_config()), then a ``.keras`` save and load in workdir
(an unexpected keyword argument 'name' or 'trainable' is the finding).  When that works, the
object is built again with name= and trainable=False, which must stick.
"""


def brief(exc):
    text = " ".join(str(exc).split())
    # Keras nests the cause: keep the innermost "Exception encountered: ..." part.
    inner = text.rsplit("Exception encountered: ", 1)[-1]
    return f"{type(exc).__name__}: {inner[:240]}"


def check(facts, workdir):
    name = facts.get("class", "")
    call_args = facts.get("call_args", "")
    try:
        namespace = user_code(facts)
        cls = namespace[name]
        obj = construct(namespace, name, call_args)
        config = obj.get_config()
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{name}({call_args}) could not be built: {brief(exc)}"}
    try:
        cls.from_config(config)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            return {"status": "confirmed", "evidence": f"{name}.from_config(get_config()): {brief(exc)}"}
        return {"status": "inconclusive", "evidence": f"from_config() failed for another reason: {brief(exc)}"}
    try:
        keras_round_trip(obj, namespace, workdir)
    except Exception as exc:
        if "unexpected keyword argument" in str(exc):
            return {"status": "confirmed", "evidence": f".keras load: {brief(exc)}"}
        return {"status": "inconclusive", "evidence": f".keras save/load failed for another reason: {brief(exc)}"}
    try:
        named = construct(namespace, name, call_args, "name='tflint_probe', trainable=False")
    except TypeError as exc:
        return {"status": "confirmed", "evidence": f"{name}(name=..., trainable=False): {brief(exc)}"}
    dropped = [f"{k}={v!r} became {getattr(named, k)!r}" for k, v in (("name", "tflint_probe"), ("trainable", False))
               if getattr(named, k) != v]
    if dropped:
        return {"status": "confirmed", "evidence": f"{name}(..., name='tflint_probe', trainable=False): "
                                                   f"{'; '.join(dropped)}"}
    return {"status": "not reproduced", "evidence": f"{name} reloads from its config and keeps name= and trainable="}
