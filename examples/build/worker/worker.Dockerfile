# Two stages: "build" writes the script, "runtime" copies just the result.
FROM busybox AS build
RUN mkdir -p /out && printf '#!/bin/sh\nn=0\nwhile true; do n=$((n+1)); echo "tick $n"; sleep "${INTERVAL:-5}"; done\n' > /out/worker.sh && chmod 755 /out/worker.sh

FROM busybox AS runtime
COPY --from=build /out/worker.sh /usr/local/bin/worker
USER 1000
CMD ["/usr/local/bin/worker"]
