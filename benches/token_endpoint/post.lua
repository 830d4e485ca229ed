-- wrk script: POST /api/token with the same small JSON body and bearer for every server.
wrk.method = "POST"
wrk.body = '{"room_name":"bench","participant_identity":"user-bench","participant_name":"Bench"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
