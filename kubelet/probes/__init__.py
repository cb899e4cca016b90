"""Liveness, readiness and startup probes: runners (exec, httpGet, tcpSocket, grpc) and their timing."""
