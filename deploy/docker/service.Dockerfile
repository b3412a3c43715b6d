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
ENV MAIN_CLASS=${MAIN_CLASS}
RUN useradd --system --uid 10001 gradwatch
WORKDIR /app
COPY --from=build /src/${MODULE}/target/${MODULE}-0.1.0-SNAPSHOT.jar /app/app.jar
COPY --from=build /src/${MODULE}/target/lib /app/lib
USER gradwatch
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -cp '/app/app.jar:/app/lib/*' \"$MAIN_CLASS\" \"$@\"", "--"]
