"""TFS205: a class registered in a module that the loading program never imports.

Writes a tiny project into a temporary folder and runs each program in its own process, as a
user would: layers.py registers Scale (and a loss function) with
@keras.saving.register_keras_serializable(package="proj"); train.py imports layers and saves
the model; each serve_*.py only loads it.  Run with a TF 2.21 and a TF 2.15 interpreter:
    python tfs205_registration_not_imported.py > tfs205_registration_not_imported.out
    python-tf215 tfs205_registration_not_imported.py > tfs205_registration_not_imported.tf215.out
"""
import os
import subprocess
import sys
import tempfile
import textwrap

FILES = {
    "layers.py": '''
        import keras
        import tensorflow as tf

        @keras.saving.register_keras_serializable(package="proj")
        class Scale(keras.layers.Layer):
            def __init__(self, factor=2.0, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor
            def call(self, x):
                return x * self.factor
            def get_config(self):
                return {**super().get_config(), "factor": self.factor}

        @keras.saving.register_keras_serializable(package="proj")
        def scaled_mse(y_true, y_pred):
            return tf.reduce_mean(tf.square(y_true - y_pred)) * 2.0
    ''',
    "train.py": '''
        import sys
        import numpy as np, keras
        from layers import Scale, scaled_mse
        path = sys.argv[1]
        loss = scaled_mse if "loss" in path else "mean_squared_error"
        middle = [] if "plain" in path else [Scale(3.0)]  # m_plain_loss: only the loss is custom
        m = keras.Sequential([keras.Input((3,))] + middle + [keras.layers.Dense(1)])
        m.compile(optimizer="adam", loss=loss)
        m.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
        m.save(path)
        print("saved", path)
    ''',
    # Only loads: never imports layers.py, so the decorator never runs in this process.
    "serve_plain.py": '''
        import sys, keras
        m = keras.models.load_model(sys.argv[1])
        print("loaded", [type(layer).__name__ for layer in m.layers], getattr(m, "loss", None))
    ''',
    "serve_compile_false.py": '''
        import sys, keras
        m = keras.models.load_model(sys.argv[1], compile=False)
        print("loaded", [type(layer).__name__ for layer in m.layers], getattr(m, "loss", None))
    ''',
    # The fix: import the module that registers (the import runs the decorator).
    "serve_import.py": '''
        import sys, keras
        import layers  # noqa: F401  registers Scale
        m = keras.models.load_model(sys.argv[1])
        print("loaded", [type(layer).__name__ for layer in m.layers], getattr(m, "loss", None))
    ''',
    "serve_custom_objects.py": '''
        import sys, keras
        from layers import Scale, scaled_mse
        m = keras.models.load_model(sys.argv[1], custom_objects={"Scale": Scale, "scaled_mse": scaled_mse})
        print("loaded", [type(layer).__name__ for layer in m.layers], getattr(m, "loss", None))
    ''',
}


def run(folder, script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, script, *args], cwd=folder, env=env, capture_output=True, text=True)
    lines = [l for l in (done.stdout + done.stderr).splitlines() if l.strip()]
    # The exception's own lines (Keras 3 nests the cause under 'Exception encountered:'), and
    # any warning Keras logged on the way.
    wanted = ("Error", "Exception encountered", "Could not locate", "WARNING:absl", "UserWarning")
    errors = [l.strip() for l in lines if any(w in l for w in wanted) and not l.startswith("Traceback")]
    errors = [e for e in dict.fromkeys(errors) if "absl::InitializeLog" not in e]
    shown = errors if done.returncode else [l for l in lines if l.startswith(("saved", "loaded"))]
    print(f"[{script} {' '.join(args)}] exit {done.returncode}")
    for line in shown:
        print("   ", line[:900])


def main():
    import tensorflow as tf
    import keras
    print(f"# tf={tf.__version__} keras={keras.__version__} python={sys.version.split()[0]}")
    folder = tempfile.mkdtemp()
    for name, text in FILES.items():
        with open(os.path.join(folder, name), "w") as out:
            out.write(textwrap.dedent(text).lstrip())
    for path in ("m.keras", "m.h5", "m_loss.keras", "m_plain_loss.keras", "m_plain_loss.h5"):
        run(folder, "train.py", path)
        for serve in ("serve_plain.py", "serve_compile_false.py", "serve_import.py", "serve_custom_objects.py"):
            run(folder, serve, path)


if __name__ == "__main__":
    main()
