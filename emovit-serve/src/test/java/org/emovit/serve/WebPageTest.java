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
import org.openqa.selenium.Keys;
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

        heatMapOverTheImageWithAToggleAnOpacitySliderAndOneMapPerEmotionOnClick(wait, api.get("emotion").asText());

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

    /** The overlay /v1/emotions gives for photo.jpg's map of this emotion (heatmap=true), as a data URL. */
    static JsonNode apiHeatmap(String emotion) throws Exception {
        String body = "{\"image\":\"" + Fixtures.dataUrl("photo.jpg") + "\",\"heatmap\":true,\"heatmap_emotion\":\"" + emotion + "\"}";
        var r = Fixtures.post(server, "/v1/emotions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return new ObjectMapper().readTree(r.body()).get("heatmap");
    }

    /** Issue 18's page: the map of the top emotion over the upload, the toggle, the slider, a bar's click maps its emotion. */
    void heatMapOverTheImageWithAToggleAnOpacitySliderAndOneMapPerEmotionOnClick(WebDriverWait wait, String top) throws Exception {
        wait.until(d -> !d.findElements(By.id("heatmap")).isEmpty() && d.findElement(By.id("heatmap")).isDisplayed());
        WebElement overlay = browser.findElement(By.id("heatmap"));
        assertThat(overlay.getAttribute("data-emotion")).isEqualTo(top);
        assertThat(overlay.getAttribute("src").equals(apiHeatmap(top).get("overlay").asText()))
                .as("the page shows the overlay the API gives for the top emotion").isTrue();
        assertThat(browser.findElement(By.cssSelector("#bars .bar.mapped")).getAttribute("data-label")).isEqualTo(top);
        WebElement image = browser.findElement(By.cssSelector("#preview img:not(.heatmap)"));
        assertThat(overlay.getRect()).as("the overlay covers the image's box").isEqualTo(image.getRect());

        WebElement toggle = browser.findElement(By.id("heatmap-toggle"));
        toggle.click();
        wait.until(d -> !d.findElement(By.id("heatmap")).isDisplayed());
        toggle.click();
        wait.until(d -> d.findElement(By.id("heatmap")).isDisplayed());

        WebElement slider = browser.findElement(By.id("heatmap-opacity"));
        assertThat(Double.parseDouble(overlay.getCssValue("opacity"))).isCloseTo(0.8, within(1e-6));
        for (int i = 0; i < 3; i++) {
            slider.sendKeys(Keys.ARROW_LEFT);   // 10 % a step
        }
        wait.until(d -> Math.abs(Double.parseDouble(d.findElement(By.id("heatmap")).getCssValue("opacity")) - 0.5) < 1e-6);
        assertThat(slider.getAttribute("value")).isEqualTo("50");

        // an emotion whose map differs from the top one's (random weights: most do), by its bar
        String other = null;
        JsonNode otherMap = null;
        JsonNode topWeights = apiHeatmap(top).get("weights");
        for (String label : org.emovit.core.Emotion.labels()) {
            if (!label.equals(top)) {
                otherMap = apiHeatmap(label);
                if (!otherMap.get("weights").equals(topWeights)) {
                    other = label;
                    break;
                }
            }
        }
        assertThat(other).as("some emotion's map differs from the top one's").isNotNull();
        String before = overlay.getAttribute("src");
        String label = other;
        browser.findElement(By.cssSelector("#bars .bar[data-label='" + label + "'] .name")).click();
        wait.until(d -> label.equals(d.findElement(By.id("heatmap")).getAttribute("data-emotion")));
        String after = browser.findElement(By.id("heatmap")).getAttribute("src");
        assertThat(after).isNotEqualTo(before);
        assertThat(after.equals(otherMap.get("overlay").asText())).as("the page shows the API's map of " + label).isTrue();
        assertThat(browser.findElement(By.cssSelector("#bars .bar.mapped")).getAttribute("data-label")).isEqualTo(label);
        assertThat(browser.findElement(By.id("heatmap-what")).getText()).containsIgnoringCase(label);

        for (int i = 0; i < 3; i++) {
            slider.sendKeys(Keys.ARROW_RIGHT);   // back to 80 % for the picture
        }
        browser.executeScript("document.activeElement.blur()");   // no focus ring in the picture
        Thread.sleep(700);
        Path shot = Path.of("target", "heatmap-page.png");
        Files.createDirectories(shot.getParent());
        Files.write(shot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        assertThat(Files.size(shot)).isGreaterThan(10_000);
    }
}
