-- POST the body in BODY with the content type in CONTENT_TYPE (both from the environment).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
if os.getenv("GITHUB_EVENT") ~= nil and os.getenv("GITHUB_EVENT") ~= "" then
  wrk.headers["X-GitHub-Event"] = os.getenv("GITHUB_EVENT")
end
