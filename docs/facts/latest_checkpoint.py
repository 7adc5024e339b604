# tf.train.latest_checkpoint(dir) over Keras checkpoints: .weights.h5 / .keras / .h5 files, a
# ModelCheckpoint directory, and (for contrast) a tf.train.Checkpoint directory.
import os, numpy as np, keras, tensorflow as tf
k = tf.keras
print("keras", keras.__version__)
m = k.Sequential([k.Input((3,)), k.layers.Dense(1)])
m.compile(optimizer="adam", loss="mse")
x, y = np.random.rand(8, 3), np.random.rand(8, 1)
for d, cb in (("ckpt_weights", k.callbacks.ModelCheckpoint("ckpt_weights/cp-{epoch:02d}.weights.h5", save_weights_only=True)),
              ("ckpt_keras", k.callbacks.ModelCheckpoint("ckpt_keras/model-{epoch:02d}.keras")),
              ("ckpt_h5", k.callbacks.ModelCheckpoint("ckpt_h5/model-{epoch:02d}.h5"))):
    os.makedirs(d, exist_ok=True)
    m.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    print(d, sorted(os.listdir(d)), "-> latest_checkpoint:", tf.train.latest_checkpoint(d))
os.makedirs("manual", exist_ok=True)
m.save_weights("manual/last.weights.h5"); m.save("manual/last.keras")
print("manual", sorted(os.listdir("manual")), "-> latest_checkpoint:", tf.train.latest_checkpoint("manual"))
ck = tf.train.Checkpoint(model=m)
prefix = ck.save("tfckpt/ckpt")
print("tf.train.Checkpoint dir -> latest_checkpoint:", tf.train.latest_checkpoint("tfckpt"))
try:
    m.load_weights(tf.train.latest_checkpoint("tfckpt")); print("model.load_weights(<TF checkpoint prefix>): ok")
except Exception as e:
    print("model.load_weights(<TF checkpoint prefix>):", type(e).__name__, str(e)[:300])
try:
    m.load_weights(tf.train.latest_checkpoint("ckpt_weights")); print("model.load_weights(None): ok")
except Exception as e:
    print("model.load_weights(latest_checkpoint('ckpt_weights')):", type(e).__name__, str(e)[:300])
if keras.__version__ < "3":
    os.makedirs("tf_format", exist_ok=True)
    m.save_weights("tf_format/cp-0001.ckpt")
    print("Keras 2 save_weights('cp-0001.ckpt') -> latest_checkpoint:", tf.train.latest_checkpoint("tf_format"))
for label, path in (("None", tf.train.latest_checkpoint("ckpt_keras")), ("<TF checkpoint prefix>", tf.train.latest_checkpoint("tfckpt"))):
    try:
        k.models.load_model(path); print(f"load_model({label}): ok")
    except Exception as e:
        print(f"load_model({label}):", type(e).__name__, str(e)[:300])
