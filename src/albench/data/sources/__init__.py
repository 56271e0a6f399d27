"""Built-in dataset sources; importing this package registers them all."""

from albench.data.sources import (  # noqa: F401
    cifar,
    digits,
    fashion_mnist,
    imagefolder,
    inat,
    svhn,
)
