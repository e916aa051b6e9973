# Build stage: restore, then publish the host (tests/Proxy.Host.Tests runs this same publish command).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig Proxy.sln ./
COPY src/ src/
COPY appsettings.json ./
COPY config/ config/
RUN dotnet restore src/Proxy.Host/Proxy.Host.csproj
RUN dotnet publish src/Proxy.Host/Proxy.Host.csproj -c Release -o /app --no-restore

# Runtime stage: ASP.NET runtime only, as the image's non-root user.
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The SQLite mailbox lives in /app/data: mount a volume there so accepted webhooks survive the container.
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
ENV ASPNETCORE_URLS=http://+:8080 \
    ConfigDir=/app/config \
    Mailbox__DataDir=/app/data \
    DOTNET_gcServer=1
VOLUME /app/data
EXPOSE 8080
USER $APP_UID
# Mount your own routes and directory over /app/config (they reload on change).
# Probes: GET /healthz (alive) and GET /readyz (config loaded, Redis reachable when configured).
ENTRYPOINT ["dotnet", "Proxy.Host.dll"]
