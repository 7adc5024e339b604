# A Lambda layer around a Python lambda (and one around a named def) serialized without a file:
# to_json() -> model_from_json() and get_config() -> from_config().
import keras, tensorflow as tf
k = tf.keras
print("keras", keras.__version__)


def double_it(t):
    return t * 2.0


for label, fn in (("lambda", lambda t: t * 2.0), ("named def", double_it)):
    m = k.Sequential([k.Input((4,)), k.layers.Lambda(fn), k.layers.Dense(1)])
    try:
        k.models.model_from_json(m.to_json()); print(label, "model_from_json: ok")
    except Exception as e:
        print(label, "model_from_json:", type(e).__name__, str(e)[:400])
    try:
        k.Sequential.from_config(m.get_config()); print(label, "Sequential.from_config: ok")
    except Exception as e:
        print(label, "Sequential.from_config:", type(e).__name__, str(e)[:400])
    f_in = k.Input((4,)); f = k.Model(f_in, k.layers.Lambda(fn)(f_in))
    try:
        k.Model.from_config(f.get_config()); print(label, "functional Model.from_config: ok")
    except Exception as e:
        print(label, "functional Model.from_config:", type(e).__name__, str(e)[:400])
    try:
        k.models.clone_model(m); print(label, "clone_model: ok")
    except Exception as e:
        print(label, "clone_model:", type(e).__name__, str(e)[:400])
m = k.Sequential([k.Input((4,)), k.layers.Lambda(lambda t: t * 2.0), k.layers.Dense(1)])
try:
    k.models.model_from_json(m.to_json(), custom_objects={}); print("lambda model_from_json(custom_objects={}): ok")
except Exception as e:
    print("lambda model_from_json(custom_objects={}):", type(e).__name__, str(e)[:200])
if hasattr(keras, "config") and hasattr(keras.config, "enable_unsafe_deserialization") and keras.__version__ >= "3":
    keras.config.enable_unsafe_deserialization()
    k.models.model_from_json(m.to_json()); print("lambda model_from_json after enable_unsafe_deserialization: ok")
