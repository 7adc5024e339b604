"""A hand-written training loop with a per-epoch accuracy report."""

import tensorflow as tf

model = tf.keras.Sequential([tf.keras.Input((16,)), tf.keras.layers.Dense(1, activation="sigmoid")])
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.BinaryCrossentropy()
train_acc = tf.keras.metrics.BinaryAccuracy()
checkpoint = tf.train.Checkpoint(model=model)
dataset = tf.data.Dataset.from_tensor_slices(
    (tf.random.uniform((256, 16)), tf.cast(tf.random.uniform((256, 1)) > 0.5, tf.float32))
).batch(32)


@tf.function
def train_step(features, labels):
    with tf.GradientTape() as tape:
        preds = model(features, training=True)
        loss = loss_fn(labels, preds)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    train_acc.update_state(preds, labels)
    return loss


for epoch in range(10):
    for features, labels in dataset:
        train_step(features, labels)
    print(f"epoch {epoch}: accuracy {float(train_acc.result()):.3f}")
    checkpoint.save("ckpt/train")
