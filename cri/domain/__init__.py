"""The CRI domain: frozen dataclasses mirroring runtime.v1 messages, and their enums.

Field names are the protobuf field names, so ``cri.convert`` maps both ways by reflection and
protobuf never travels past the gRPC edge. ``Int64Value``/``UInt64Value`` wrappers are ``int | None``.
"""

from cri.domain.common import *  # noqa: F403
from cri.domain.container import *  # noqa: F403
from cri.domain.enums import *  # noqa: F403
from cri.domain.image import *  # noqa: F403
from cri.domain.metrics import *  # noqa: F403
from cri.domain.runtime import *  # noqa: F403
from cri.domain.sandbox import *  # noqa: F403
from cri.domain.stats import *  # noqa: F403
