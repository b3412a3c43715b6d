# One image recipe for every gradwatch JVM: the build stage compiles the whole project once with the
# pinned Maven (./mvnw), the run stage keeps one module's jar and its runtime class path.
#   docker build -f deploy/docker/service.Dockerfile --build-arg MODULE=monitor-service \
#     --build-arg MAIN_CLASS=io.gradwatch.monitor.MonitorMain -t gradwatch/monitor-service .
FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
RUN ./mvnw -q -B -ntp -DskipTests package

FROM eclipse-temurin:17-jre
ARG MODULE
ARG MAIN_CLASS
# JDK modules the service adds when the JRE has them (the trainer: jdk.incubator.vector, for its
# Vector API kernels; without the module they fall back to scalar loops). Written to an @argfile.
ARG ADD_MODULES=
ENV MAIN_CLASS=${MAIN_CLASS}
RUN useradd --system --uid 10001 gradwatch
WORKDIR /app
RUN : > /app/jvm.args && if [ -n "$ADD_MODULES" ] && java --list-modules | grep -q "^${ADD_MODULES}@"; then \
      echo "--add-modules=${ADD_MODULES}" > /app/jvm.args; fi
COPY --from=build /src/${MODULE}/target/${MODULE}-0.1.0-SNAPSHOT.jar /app/app.jar
COPY --from=build /src/${MODULE}/target/lib /app/lib
USER gradwatch
ENTRYPOINT ["sh", "-c", "exec java @/app/jvm.args $JAVA_OPTS -cp '/app/app.jar:/app/lib/*' \"$MAIN_CLASS\" \"$@\"", "--"]
