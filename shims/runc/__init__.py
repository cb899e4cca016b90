"""The runc shim: a CRI runtime over conmon + runc (the CRI-O way), with CNI pod networking."""
