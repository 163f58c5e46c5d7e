// The metrics endpoint's request reader: what each kind of request head
// gets, and that nothing unbounded is waited for.
#include <catch2/catch.hpp>
#include <string>

#include "netproc/metrics_http.hpp"

using namespace tlsward::netproc;

TEST_CASE("metrics requests: a scrape is answered once the head is complete", "[metrics]") {
    CHECK(classify_metrics_request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") ==
          MetricsRequest::ok);
    CHECK(classify_metrics_request("GET /metrics?x=1 HTTP/1.0\n\n") == MetricsRequest::ok);
    CHECK(classify_metrics_request("GET /metrics HTTP/1.1\r\nHost: x\r\n") ==
          MetricsRequest::incomplete);
    CHECK(classify_metrics_request("GET /metr") == MetricsRequest::incomplete);
    CHECK(classify_metrics_request("") == MetricsRequest::incomplete);
}

TEST_CASE("metrics requests: anything else is refused with its status", "[metrics]") {
    CHECK(classify_metrics_request("GET / HTTP/1.1\r\n\r\n") == MetricsRequest::not_found);
    CHECK(classify_metrics_request("GET /metricsx HTTP/1.1\r\n") == MetricsRequest::not_found);
    CHECK(classify_metrics_request("POST /metrics HTTP/1.1\r\n") ==
          MetricsRequest::method_not_allowed);
    CHECK(classify_metrics_request("HEAD /metrics HTTP/1.1\r\n") ==
          MetricsRequest::method_not_allowed);
    // A bad request line is answered without waiting for the rest.
    CHECK(classify_metrics_request("GARBAGE\r\n") == MetricsRequest::bad_request);
    CHECK(classify_metrics_request("GET /metrics\r\n") == MetricsRequest::bad_request);
    CHECK(classify_metrics_request("GET  /metrics HTTP/1.1\r\n") == MetricsRequest::bad_request);
    CHECK(classify_metrics_request("GET metrics HTTP/1.1\r\n") == MetricsRequest::bad_request);
    CHECK(classify_metrics_request("GET /metrics HTTP/2.0\r\n") == MetricsRequest::bad_request);
    CHECK(classify_metrics_request(std::string("GET /m\x01 HTTP/1.1\r\n")) ==
          MetricsRequest::bad_request);
    // A TLS ClientHello sent to the plaintext port.
    const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n";
    CHECK(classify_metrics_request(std::string(hello, sizeof hello - 1)) ==
          MetricsRequest::bad_request);
}

TEST_CASE("metrics requests: the head is bounded", "[metrics]") {
    std::string no_newline(kMetricsMaxRequest, 'A');
    CHECK(classify_metrics_request(no_newline) == MetricsRequest::too_large);
    std::string endless = "GET /metrics HTTP/1.1\r\n";
    while (endless.size() < kMetricsMaxRequest) endless += "X-Pad: aaaaaaaaaaaaaaaa\r\n";
    CHECK(classify_metrics_request(endless) == MetricsRequest::too_large);
}

TEST_CASE("metrics responses carry status, length and close", "[metrics]") {
    std::string ok = metrics_ok_response("a 1\n");
    CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(ok.find("Content-Length: 4\r\n") != std::string::npos);
    CHECK(ok.find("Connection: close\r\n") != std::string::npos);
    CHECK(ok.find("text/plain; version=0.0.4") != std::string::npos);
    CHECK(metrics_error_response(MetricsRequest::not_found).rfind("HTTP/1.1 404 ", 0) == 0);
    CHECK(metrics_error_response(MetricsRequest::method_not_allowed).find("Allow: GET\r\n") !=
          std::string::npos);
    CHECK(metrics_error_response(MetricsRequest::too_large).rfind("HTTP/1.1 431 ", 0) == 0);
    CHECK(metrics_error_response(MetricsRequest::bad_request).rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(metrics_error_response(MetricsRequest::bad_request, true).rfind("HTTP/1.1 408 ", 0) == 0);
}
