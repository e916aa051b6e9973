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
ENV ASPNETCORE_URLS=http://+:8080 \
    ConfigDir=/app/config \
    DOTNET_gcServer=1
EXPOSE 8080
USER $APP_UID
# Mount your own routes and directory over /app/config (they reload on change).
# Probes: GET /healthz (alive) and GET /readyz (config loaded, Redis reachable when configured).
ENTRYPOINT ["dotnet", "Proxy.Host.dll"]
