package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.emovit.api.EmbeddedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The web page in a real headless Chromium: upload an image, see the label and the 8 bars /v1/emotions gives. */
class WebPageTest {
    static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    static final Path BROWSER = Path.of("/usr/bin/chromium");
    static EmoVitServer server;
    static ChromeDriver browser;

    /** Why the page cannot be tested on this machine, or null. */
    static final String MISSING = Files.isExecutable(DRIVER) && Files.isExecutable(BROWSER) ? null
            : "WebPageTest skipped: no " + (Files.isExecutable(DRIVER) ? BROWSER : DRIVER)
              + " - install Debian's browser and driver to run it: sudo apt-get install chromium chromium-driver (.ci/run does)";

    @BeforeAll
    static void start() throws Exception {
        if (MISSING != null) {
            // Said out loud: surefire's summary shows only a count of skipped tests, not why.
            System.err.println(MISSING);
            return;
        }
        server = Fixtures.start(ServerSettings.defaults());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BROWSER.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,900", "--user-data-dir=" + Files.createTempDirectory("emovit-chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.close();
        }
    }

    /** Each test is reported as skipped, with the reason and the command that installs what is missing. */
    @BeforeEach
    void browserIsThere() {
        Assumptions.assumeTrue(MISSING == null, MISSING);
    }

    @Test
    void uploadingAnImageShowsTheEmotionAndEightBarsAsTheApiGivesThem() throws Exception {
        browser.get(server.url() + "/");
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
        wait.until(d -> !d.findElement(By.id("model")).getText().equals("…"));
        assertThat(browser.findElement(By.id("model")).getText()).isEqualTo(server.modelName());

        Path photo = EmbeddedModel.sample("photo.jpg");
        browser.findElement(By.id("file")).sendKeys(photo.toString());
        wait.until(d -> d.findElements(By.cssSelector("#bars .bar")).size() == 8 && !d.findElement(By.id("emotion")).getText().isEmpty());
        wait.until(d -> d.findElement(By.id("status")).getText().startsWith("Done"));

        JsonNode api = new ObjectMapper().readTree(Fixtures.post(server, "/v1/emotions", "{\"image\":\"" + Fixtures.dataUrl("photo.jpg") + "\"}").body());
        assertThat(browser.findElement(By.id("emotion")).getText().toLowerCase()).isEqualTo(api.get("emotion").asText());
        List<WebElement> bars = browser.findElements(By.cssSelector("#bars .bar"));
        for (WebElement bar : bars) {
            String label = bar.getAttribute("data-label");
            assertThat(Double.parseDouble(bar.getAttribute("data-p"))).as(label).isCloseTo(api.get("probabilities").get(label).asDouble(), within(1e-9));
            assertThat(bar.findElement(By.cssSelector(".pct")).getText())
                    .isEqualTo(String.format(java.util.Locale.ROOT, "%.1f%%", 100 * api.get("probabilities").get(label).asDouble()));
        }
        WebElement top = browser.findElement(By.cssSelector("#bars .bar.top"));
        assertThat(top.getAttribute("data-label")).isEqualTo(api.get("emotion").asText());
        wait.until(d -> top.findElement(By.cssSelector(".fill")).getSize().getWidth() > 0);
        assertThat(browser.findElement(By.id("explanation")).getText()).isNotEmpty();
        assertThat(browser.findElements(By.cssSelector("#recent li"))).hasSize(1);

        browser.findElement(By.id("question")).sendKeys("What is the mood here?");
        browser.findElement(By.id("ask")).click();
        wait.until(d -> d.findElement(By.id("ask")).isEnabled() && !d.findElement(By.id("answer")).getText().isEmpty()
                && !d.findElement(By.id("answer")).getAttribute("class").contains("typing"));
        Thread.sleep(700);   // let the bars finish their transition before the picture
        Path shot = Path.of("target", "web-page.png");
        Files.createDirectories(shot.getParent());
        Files.write(shot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        assertThat(Files.size(shot)).isGreaterThan(10_000);
    }
}
