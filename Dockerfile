# syntax=docker/dockerfile:1
# Build stage. tests/Proxy.Host.Tests (ContainerBuildTests) runs these same COPY and RUN steps and starts the output
# with the runtime stage's ENV, WORKDIR, ENTRYPOINT and HEALTHCHECK, since no container engine runs in CI.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore from the project files alone, so that this layer is rebuilt only when a project file or the props change.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Proxy.Host/Proxy.Host.csproj src/Proxy.Host/
COPY src/Proxy.Routing/Proxy.Routing.csproj src/Proxy.Routing/
COPY src/Proxy.Mailbox/Proxy.Mailbox.csproj src/Proxy.Mailbox/
COPY src/Proxy.Billing/Proxy.Billing.csproj src/Proxy.Billing/
COPY src/Proxy.Signing/Proxy.Signing.csproj src/Proxy.Signing/
COPY src/Proxy.Redis/Proxy.Redis.csproj src/Proxy.Redis/
RUN dotnet restore src/Proxy.Host/Proxy.Host.csproj -r linux-x64
# Then the sources: only the layers from here on are rebuilt by a code change.
COPY src/ src/
COPY appsettings.json ./
COPY config/ config/
# linux-x64, framework-dependent: the runtime comes from the base image, and only this platform's native libraries
# (SQLite, librdkafka) are published instead of every platform's.
RUN dotnet publish src/Proxy.Host/Proxy.Host.csproj -c Release -r linux-x64 --self-contained false -o /app --no-restore

# Runtime stage: ASP.NET Core runtime only, as the image's non-root user ($APP_UID, 1654).
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The SQLite mailbox lives in /app/data: mount a volume there so accepted webhooks survive the container.
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
# The port: ASPNETCORE_HTTP_PORTS (or ASPNETCORE_URLS, which takes precedence) at `docker run -e`.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ConfigDir=/app/config \
    Mailbox__DataDir=/app/data \
    DOTNET_gcServer=1
VOLUME /app/data
EXPOSE 8080
USER $APP_UID
# Mount your own routes and directory over /app/config (they reload on change, polled every 200 ms).
# Probes: GET /healthz (alive) and GET /readyz (config loaded, Redis reachable when configured). The image has no curl:
# the healthcheck verb asks /readyz on the port the settings above name and exits 0 only on a 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["dotnet", "Proxy.Host.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "Proxy.Host.dll"]
