# The nginx configuration both benchmarks share (sourced; $tmp is the run's temporary folder): the pieces of an
# instance's config file and of its http block. The defaults close a keep-alive connection after 1000 requests;
# Kestrel does not, so neither do these.
nginx_common() { # $1: instance name
  cat <<EOF
pid $tmp/$1.pid;
error_log $tmp/$1-error.log warn;
events { worker_connections 4096; }
EOF
}
nginx_http_common() { # $1: instance name
  cat <<EOF
  access_log off;
  default_type application/json;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/$1-body;
  proxy_temp_path $tmp/$1-proxy;
  fastcgi_temp_path $tmp/$1-fastcgi;
  uwsgi_temp_path $tmp/$1-uwsgi;
  scgi_temp_path $tmp/$1-scgi;
EOF
}
